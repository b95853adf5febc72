// Muster console: progressive enhancement only. Every flow works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // Copy buttons beside secrets shown once.
  document.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    var target = document.getElementById(b.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent).then(function () {
        b.textContent = "Copied";
      });
    });
  });

  // Times in the browser's own zone; the UTC value the server wrote stays on hover. Every
  // time the server writes reads "YYYY-MM-DD HH:MM:SS UTC" (in a <time datetime> element,
  // or as plain text in a table cell or a profile value).
  var UTC = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/;
  function local(el, text) {
    var m = UTC.exec(text.trim());
    if (!m) return;
    var d = new Date(m[1] + "T" + m[2] + "Z");
    if (isNaN(d.getTime())) return;
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    var shown = d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " +
      p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
    el.textContent = shown + (zone ? " " + zone : "");
    el.title = text.trim();
    el.setAttribute("data-utc", text.trim());
  }
  document.querySelectorAll("time[datetime]").forEach(function (t) { local(t, t.textContent); });
  document.querySelectorAll("td, dd").forEach(function (cell) {
    if (cell.children.length === 0 && UTC.test(cell.textContent.trim())) {
      var t = document.createElement("time");
      t.setAttribute("datetime", cell.textContent.trim());
      local(t, cell.textContent);
      cell.replaceChildren(t);
      return;
    }
    // A time followed by more text ("… UTC in SCIM"): wrap just the time.
    var first = cell.firstChild;
    if (first && first.nodeType === 3) {
      var m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)/.exec(first.nodeValue);
      if (m) {
        var t2 = document.createElement("time");
        t2.setAttribute("datetime", m[1]);
        local(t2, m[1]);
        first.nodeValue = first.nodeValue.slice(m[1].length);
        cell.insertBefore(t2, first);
      }
    }
  });

  // Search as you type in "Add a member": fetch the same page and swap in its results.
  document.querySelectorAll("form[data-live]").forEach(function (form) {
    var input = form.querySelector("input[type=search]");
    var list = document.querySelector("div.found");
    if (!input || !list || !window.fetch) return;
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = form.action + "?find=" + encodeURIComponent(input.value);
        fetch(url, { credentials: "same-origin" })
          .then(function (r) { return r.text(); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.querySelector("div.found");
            if (fresh) list.replaceChildren.apply(list, Array.from(fresh.childNodes));
          });
      }, 250);
    });
  });
});

// The users list: "select every row on this page", the count of selected rows, and search
// as you type (the same page fetched and its results swapped in; the address follows).
document.addEventListener("DOMContentLoaded", function () {
  var boxes = function () { return document.querySelectorAll("input[name=ids][form=bulk]"); };
  var update = function () {
    var n = Array.prototype.filter.call(boxes(), function (b) { return b.checked; }).length;
    var count = document.querySelector("form.bulk .selected-count");
    var all = document.getElementById("select-page");
    if (count) count.textContent = n ? " (" + n + ")" : "";
    if (all) all.checked = n > 0 && n === boxes().length;
  };
  // Delegated, so rows swapped in by the live search work the same.
  document.addEventListener("change", function (e) {
    if (!e.target) return;
    if (e.target.id === "select-page") {
      boxes().forEach(function (b) { b.checked = e.target.checked; });
      update();
    } else if (e.target.name === "ids") {
      update();
    }
  });

  document.querySelectorAll("form[data-live-list]").forEach(function (form) {
    var input = form.querySelector("input[type=search]");
    var target = document.getElementById(form.getAttribute("data-live-list"));
    if (!input || !target || !window.fetch || !window.URLSearchParams) return;
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
        fetch(url, { credentials: "same-origin" })
          .then(function (r) { return r.text(); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.getElementById(target.id);
            if (!fresh) return;
            target.replaceChildren.apply(target, Array.from(fresh.childNodes));
            history.replaceState(null, "", url);
          });
      }, 250);
    });
  });
});

// A page restored from the back-forward cache (Back after a delete) is fetched again, so
// it never shows what is gone.
window.addEventListener("pageshow", function (e) {
  if (e.persisted) window.location.reload();
});

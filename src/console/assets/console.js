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

  // Search as you type in "Add a member": fetch the same page and swap in its results.
  document.querySelectorAll("form[data-live]").forEach(function (form) {
    var input = form.querySelector("input[type=search]");
    var list = document.querySelector("ul.found");
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
            var fresh = doc.querySelector("ul.found");
            if (fresh) list.replaceChildren.apply(list, Array.from(fresh.childNodes));
          });
      }, 250);
    });
  });
});

#!/usr/bin/env python3
"""Change events through kills and restarts: a webhook to a local receiver, then checks.

  eventcheck.py hook   --url URL --token T --receiver URL --key-file FILE
      Registers a hook in Logto's dialect (POST /api/hooks) subscribed to every user and
      group event, pointing at the receiver (cluster/receiver.py); writes its id and its
      signing key (shown only at creation) to FILE.
  eventcheck.py verify --url URL --token T --key-file FILE --deliveries FILE --state FILE
             [--wait SECONDS] [--label NAME]
      Reads the pull feed (GET /admin/v1/events, paged to its end) and the receiver's
      record until every acknowledged write of the driver's --state (cluster/drive.py's or
      crash/drive.py's) has its event in the feed and every feed event the hook subscribes
      to has been delivered at least once, or --wait seconds pass (default 60). Then checks:
        - the feed is gap-free and duplicate-free (sequences 1..n, distinct ids, at most
          one User.Created per user);
        - every acknowledged create has its User.Created (and, for crash/drive.py, every
          acknowledged update its User.Data.Updated, every acknowledged member add a
          Group.Membership.Updated naming the user);
        - no event lost: every feed event was delivered; none delivered that the feed lacks;
        - every delivery's `logto-signature-sha-256` is the HMAC-SHA256 of its body with the
          hook's key, and its body names the event of its `muster-event-id` header;
        - per resource, first deliveries arrive in sequence order.
      Duplicates (at least once: a delivery sent again after a kill) are counted and
      printed, not an error. Exits 1 on any failed check.

Standard library only; the HTTP client is cluster/musterhttp.py.
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from musterhttp import call  # noqa: E402

EVENTS = ["User.Created", "User.Deleted", "User.Data.Updated", "User.SuspensionStatus.Updated",
          "Group.Created", "Group.Deleted", "Group.Data.Updated", "Group.Membership.Updated"]
JSON = "application/json"


def fail(label, msg):
    print(f"{label} event check FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def hook(a):
    body = {"name": "event-check", "events": EVENTS, "config": {"url": a.receiver}}
    for _ in range(200):
        s, _, h = call("POST", f"{a.url.rstrip('/')}/api/hooks", a.token, body, content_type=JSON)
        if s == 201:
            with open(a.key_file, "w") as f:
                json.dump({"id": h["id"], "signingKey": h["signingKey"]}, f)
            print(f"hook {h['id']} -> {a.receiver} ({len(EVENTS)} events)")
            return
        if s != 0:
            fail("hook", f"creating the hook: {s} {h}")
        time.sleep(0.05)
    fail("hook", "the server does not answer")


class Feed:
    """The feed read so far, extended page by page from where the last read ended."""

    def __init__(self, url, token, label):
        self.url, self.token, self.label = url.rstrip("/"), token, label
        self.events, self.after = [], 0

    def read(self):
        while True:
            s, _, page = call("GET", f"{self.url}/admin/v1/events?after={self.after}&limit=1000",
                              self.token, timeout=30)
            if s == 0:  # a restart in progress: try again on the next round
                return
            if s != 200:
                fail(self.label, f"reading the feed after {self.after}: {s} {page}")
            self.events.extend(page["events"])
            self.after = page["next"]
            if not page.get("moreAvailable"):
                return


def deliveries(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.endswith("\n"):  # a line still being written is read next round
                out.append(json.loads(line))
    return out


def expectations(state):
    """(what, predicate on the feed index) for each acknowledged write of the driver."""
    exp = []
    if "records" in state:  # cluster/drive.py
        for r in state["records"]:
            if r["op"] == "create" and r["status"] == 201:
                exp.append(("create", r["id"], None))
            elif r["op"] == "member" and 200 <= r["status"] < 300:
                exp.append(("member", r["id"], state["group"]))
    else:  # crash/drive.py
        for r in state["acks"]:
            if r["op"] == "create":
                exp.append(("create", r["id"], None))
            elif r["op"] == "update":
                exp.append(("update", r["id"], None))
            elif r["op"] == "member":
                exp.append(("member", r["user"], r["group"]))
    return exp


def missing(exp, events):
    created, updated, added = set(), {}, set()
    for e in events:
        rid = e["resourceId"]
        if e["type"] == "User.Created":
            created.add(rid)
        elif e["type"] == "User.Data.Updated":
            updated[rid] = updated.get(rid, 0) + 1
        elif e["resourceType"] == "Group":
            d = e.get("data") or {}
            for uid in (d.get("addedMemberIds") or []) + (d.get("memberIds") or []):
                added.add((rid, uid))
    out, want_updates = [], {}
    for what, rid, group in exp:
        if what == "create" and rid not in created:
            out.append(f"User.Created of {rid}")
        elif what == "update":
            want_updates[rid] = want_updates.get(rid, 0) + 1
        elif what == "member" and (group, rid) not in added:
            out.append(f"the membership event adding {rid} to {group}")
    for rid, n in want_updates.items():
        if updated.get(rid, 0) < n:
            out.append(f"{n - updated.get(rid, 0)} User.Data.Updated of {rid}")
    return out


def verify(a):
    label = a.label
    with open(a.key_file) as f:
        h = json.load(f)
    key = h["signingKey"].encode()
    with open(a.state) as f:
        exp = expectations(json.load(f))
    feed = Feed(a.url, a.token, label)
    started = time.time()
    deadline = started + a.wait
    while True:
        feed.read()
        subscribed = {e["id"]: e for e in feed.events if e["type"] in EVENTS}
        got = deliveries(a.deliveries)
        delivered = {d["id"] for d in got}
        lacking = missing(exp, feed.events)
        undelivered = [i for i in subscribed if i not in delivered]
        if (not lacking and not undelivered) or time.time() > deadline:
            break
        time.sleep(0.5)
    waited = time.time() - started
    feed.read()
    got = deliveries(a.deliveries)
    subscribed = {e["id"]: e for e in feed.events if e["type"] in EVENTS}

    # The feed itself: 1..n, each event once.
    seqs = [e["sequence"] for e in feed.events]
    if seqs != list(range(1, len(seqs) + 1)):
        fail(label, f"the feed's sequences are not 1..{len(seqs)}: {seqs[:10]}...")
    if len({e["id"] for e in feed.events}) != len(feed.events):
        fail(label, "the feed repeats an event id")
    created = [e["resourceId"] for e in feed.events if e["type"] == "User.Created"]
    if len(set(created)) != len(created):
        fail(label, f"{len(created) - len(set(created))} users have two User.Created events")
    # Every acknowledged write has its event.
    if lacking:
        fail(label, f"{len(lacking)} acknowledged writes have no event in the feed "
                    f"(of {len(exp)}): {lacking[:5]}")
    # Signatures and bodies.
    bad_sig, bad_body = [], []
    for d in got:
        want = hmac.new(key, d["body"].encode(), hashlib.sha256).hexdigest()
        if not d.get("sig") or not hmac.compare_digest(want, d["sig"]):
            bad_sig.append(d["id"])
            continue
        b = json.loads(d["body"])
        if b.get("eventId") != d["id"] or b.get("hookId") != h["id"]:
            bad_body.append(d["id"])
    if bad_sig:
        fail(label, f"{len(bad_sig)} deliveries with a wrong signature: {bad_sig[:5]}")
    if bad_body:
        fail(label, f"{len(bad_body)} deliveries whose body names another event or hook: {bad_body[:5]}")
    # None lost, none unknown; duplicates counted.
    counts = {}
    for d in got:
        counts[d["id"]] = counts.get(d["id"], 0) + 1
    lost = [e for i, e in subscribed.items() if i not in counts]
    unknown = [i for i in counts if i not in subscribed]
    if lost:
        fail(label, f"{len(lost)} of {len(subscribed)} feed events never delivered after {waited:.0f} s: "
                    + ", ".join(f"#{e['sequence']} {e['type']} {e['resourceId']}" for e in lost[:5]))
    if unknown:
        fail(label, f"{len(unknown)} delivered event ids are not in the feed: {unknown[:5]}")
    dups = sum(n - 1 for n in counts.values())
    duplicated = sum(1 for n in counts.values() if n > 1)
    # Per resource, the first delivery of each event arrives in sequence order (the file is
    # in arrival order: the receiver writes each line before it answers).
    first, lines = set(), {}
    for d in got:
        if d["id"] in first:
            continue
        first.add(d["id"])
        b = json.loads(d["body"])
        res = (b["muster"]["resourceType"], b["params"]["id"])
        lines.setdefault(res, []).append(b["sequence"])
    out_of_order = {r: s for r, s in lines.items() if any(y < x for x, y in zip(s, s[1:]))}
    if out_of_order:
        r, s = next(iter(out_of_order.items()))
        fail(label, f"{len(out_of_order)} resources' events arrived out of order, e.g. {r}: {s[:10]}")
    attempts = max((int(d.get("attempt") or 1) for d in got), default=0)
    by_type = {}
    for e in subscribed.values():
        by_type[e["type"]] = by_type.get(e["type"], 0) + 1
    print(f"{label} events: {len(feed.events)} in the feed (1..{len(feed.events)}, no gap), "
          f"{len(subscribed)} subscribed ({', '.join(f'{k} {v}' for k, v in sorted(by_type.items()))}); "
          f"all {len(exp)} acknowledged writes have their event; "
          f"{len(got)} deliveries, none lost, {dups} duplicates over {duplicated} events "
          f"(highest attempt {attempts}); {len(got)} signatures valid; "
          f"order held for {len(lines)} resources; all delivered {waited:.1f} s after the check began")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["hook", "verify"])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--receiver", default="")
    p.add_argument("--key-file", required=True)
    p.add_argument("--deliveries", default="")
    p.add_argument("--state", default="")
    p.add_argument("--wait", type=float, default=60)
    p.add_argument("--label", default="")
    a = p.parse_args()
    hook(a) if a.mode == "hook" else verify(a)


if __name__ == "__main__":
    main()

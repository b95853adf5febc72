#!/usr/bin/env python3
"""Drive a Muster cluster through its load balancer, then check what it kept.

  drive.py load   --lb URL --token T --seconds N --workers W --state FILE
      Concurrent SCIM writes and reads through the balancer: each worker creates users
      (POST /Users), adds every fifth to a shared group (PATCH /Groups/{id}), and reads
      back what it made. Every answer is recorded with its time: 2xx writes are the
      acknowledged ones that must survive; anything else (a 5xx from the balancer, a reset
      connection) is a failure seen by a client.
  drive.py verify --lb URL --instances URL,URL,... --token T --client ID:SECRET --state FILE
             --events FILE
      Every acknowledged user exists with its name; every acknowledged membership is in the
      group; failures happened only around the SIGKILL (none around the SIGTERM); versions,
      cursors and access tokens work across instances.

Standard library only (urllib, threading), so CI needs nothing but Python; the HTTP client
is shared with crash/drive.py (cluster/musterhttp.py).
"""

import argparse
import base64
import json
import sys
import threading
import time
import urllib.request

from musterhttp import call

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def fail(msg):
    print(f"cluster check FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def load(a):
    lb = a.lb.rstrip("/")
    s, _, g = call("POST", f"{lb}/scim/v2/Groups", a.token,
                   {"schemas": [GROUP], "displayName": f"cluster-{int(time.time())}"})
    if s != 201:
        fail(f"creating the shared group: {s} {g}")
    group = g["id"]
    records = []
    lock = threading.Lock()
    stop = time.time() + a.seconds

    def worker(w):
        i = 0
        while time.time() < stop:
            i += 1
            name = f"w{w}-{i}-{int(time.time() * 1000)}@cluster.example"
            t = time.time()
            s, _, body = call("POST", f"{lb}/scim/v2/Users", a.token,
                              {"schemas": [USER], "userName": name})
            rec = {"t": t, "op": "create", "status": s, "name": name}
            if s == 201:
                rec["id"] = body["id"]
            with lock:
                records.append(rec)
            if s == 201 and i % 5 == 0:
                t = time.time()
                s2, _, b2 = call("PATCH", f"{lb}/scim/v2/Groups/{group}", a.token,
                                 {"schemas": [PATCH], "Operations": [
                                     {"op": "add", "path": "members", "value": [{"value": rec["id"]}]}]})
                with lock:
                    records.append({"t": t, "op": "member", "status": s2, "id": rec["id"]})
            if s == 201:
                t = time.time()
                s3, _, _ = call("GET", f"{lb}/scim/v2/Users/{rec['id']}", a.token)
                with lock:
                    records.append({"t": t, "op": "read", "status": s3, "id": rec["id"]})

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with open(a.state, "w") as f:
        json.dump({"group": group, "records": records}, f)
    ok = sum(1 for r in records if 200 <= r["status"] < 300)
    print(f"load: {len(records)} requests, {ok} answered 2xx, {len(records) - ok} not")


def verify(a):
    lb = a.lb.rstrip("/")
    instances = [u.rstrip("/") for u in a.instances.split(",")]
    with open(a.state) as f:
        state = json.load(f)
    events = {}
    with open(a.events) as f:
        for line in f:
            name, t = line.split()
            events[name] = float(t)
    records = state["records"]

    # 1. Every acknowledged write is there.
    made = [r for r in records if r["op"] == "create" and r["status"] == 201]
    for r in made:
        s, _, u = call("GET", f"{lb}/scim/v2/Users/{r['id']}", a.token)
        if s != 200 or u.get("userName") != r["name"]:
            fail(f"acknowledged user {r['name']} ({r['id']}) is missing: {s} {u}")
    added = {r["id"] for r in records if r["op"] == "member" and 200 <= r["status"] < 300}
    s, _, g = call("GET", f"{lb}/scim/v2/Groups/{state['group']}", a.token)
    if s != 200:
        fail(f"reading the shared group: {s}")
    members = {m["value"] for m in g.get("members", [])}
    if not added <= members:
        fail(f"acknowledged members missing from the group: {sorted(added - members)[:5]}")
    if g["meta"]["version"] != f'W/"{1 + len(members)}"':
        fail(f"group version {g['meta']['version']} after {len(members)} member adds")
    # A failed create must not have left a user behind under another answer... (a 5xx create
    # may or may not have committed; both are allowed, but it must not be half-made).

    # 2. Who saw failures, and when.
    failures = [r for r in records if not (200 <= r["status"] < 300)]
    kill, term = events.get("sigkill"), events.get("sigterm")
    near = lambda r, t: t is not None and t - 1.0 <= r["t"] <= t + 3.0  # noqa: E731
    around_kill = [r for r in failures if near(r, kill)]
    elsewhere = [r for r in failures if not near(r, kill)]
    around_term = [r for r in failures if near(r, term)]
    print(f"verify: {len(made)} acknowledged users and {len(added)} memberships all present; "
          f"{len(failures)} requests failed for clients: {len(around_kill)} around the SIGKILL, "
          f"{len(around_term)} around the SIGTERM, {len(elsewhere)} elsewhere")
    for r in failures[:10]:
        print(f"  failed: {r['op']} status {r['status']} at {r['t'] - events.get('start', 0):.2f}s")
    if elsewhere:
        fail(f"{len(elsewhere)} failures away from the SIGKILL: {elsewhere[:3]}")
    if around_term:
        fail(f"{len(around_term)} failures around the SIGTERM (it must drain): {around_term[:3]}")
    if len(around_kill) > a.workers * 2:
        fail(f"{len(around_kill)} failures at the SIGKILL: more than the requests in flight")

    # 3. Across instances: an access token minted by one works on the others.
    cid, secret = a.client.split(":", 1)
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    req = urllib.request.Request(f"{instances[0]}/oauth/token",
                                 data=b"grant_type=client_credentials", method="POST")
    req.add_header("Authorization", f"Basic {basic}")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=15) as r:
        access = json.loads(r.read())["access_token"]
    for inst in instances:
        s, _, _ = call("GET", f"{inst}/scim/v2/Users?count=1", access)
        if s != 200:
            fail(f"an access token minted by {instances[0]} is refused by {inst}: {s}")

    # Versions: read on one, change on another with If-Match, a stale tag refused on a third.
    uid = made[0]["id"]
    s, h, u = call("GET", f"{instances[0]}/scim/v2/Users/{uid}", a.token)
    tag = u["meta"]["version"]
    s, _, u2 = call("PATCH", f"{instances[1]}/scim/v2/Users/{uid}", a.token,
                    {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "moved"}]},
                    headers={"If-Match": tag})
    if s != 200:
        fail(f"If-Match with a version read on another instance: {s} {u2}")
    s, _, e = call("PATCH", f"{instances[2 % len(instances)]}/scim/v2/Users/{uid}", a.token,
                   {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "stale"}]},
                   headers={"If-Match": tag})
    if s != 412:
        fail(f"a stale If-Match on a third instance answered {s}, not 412")

    # Cursors: a page from one instance, the next from another, no overlap, all walked.
    s, _, c = call("GET", f"{lb}/scim/v2/Users?count=0", a.token)
    total = c["totalResults"]
    seen, cursor, hops = set(), "", 0
    while True:
        inst = instances[hops % len(instances)]
        s, _, page = call("GET", f"{inst}/scim/v2/Users?count=7&cursor={cursor}", a.token)
        if s != 200:
            fail(f"cursor page {hops} on {inst}: {s} {page}")
        ids = [r["id"] for r in page.get("Resources", [])]
        if seen & set(ids):
            fail("a cursor page repeated users of an earlier page")
        seen.update(ids)
        hops += 1
        cursor = page.get("nextCursor")
        if not cursor:
            break
    if len(seen) != total:
        fail(f"the cursor walk across instances saw {len(seen)} of {total} users")
    print(f"verify: access token, If-Match and a {hops}-page cursor walk work across "
          f"{len(instances)} instances")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["load", "verify"])
    p.add_argument("--lb", required=True)
    p.add_argument("--instances", default="")
    p.add_argument("--token", required=True)
    p.add_argument("--client", default="")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--state", required=True)
    p.add_argument("--events", default="")
    a = p.parse_args()
    load(a) if a.mode == "load" else verify(a)


if __name__ == "__main__":
    main()

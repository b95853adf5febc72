#!/usr/bin/env python3
"""The delivery benchmark's driver (bench/events.sh): creates users, then measures delivery.

  events.py --url URL --token T --users N --clients C --deliveries FILE --backend NAME
            [--wait SECONDS]

C client threads (one keep-alive connection each) create N users through SCIM
(POST /scim/v2/Users) as fast as the server answers; a hook subscribed to User.Created
delivers each to cluster/receiver.py, which appends every arrival to FILE. Once every created
user's User.Created has arrived (or --wait seconds pass, then it fails), prints one markdown
table row:

  | backend | users | clients | creates/s | events delivered/s | commit→delivery p50 | p99 | max | duplicates |

- creates/s: N / (last 2xx - first request).
- events delivered/s: distinct events delivered / (last first arrival - first request), end to
  end: what a receiver gets while the writes go on and until the queue is drained.
- commit→delivery: first arrival at the receiver minus the event's own `createdAt` in the
  body (stamped when the change's transaction inserts the event, just before it commits:
  the figure includes the commit, at most a few ms). Same machine, same clock.

Standard library only.
"""

import argparse
import datetime
import http.client
import json
import sys
import threading
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def ms_of(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def pct(xs, p):
    return xs[min(int(len(xs) * p), len(xs) - 1)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--deliveries", required=True)
    p.add_argument("--backend", required=True)
    p.add_argument("--wait", type=float, default=120)
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.url)
    stamp = int(time.time())
    lock = threading.Lock()
    made, errors = {}, []
    next_i = [0]

    def client(c):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        while True:
            with lock:
                i = next_i[0]
                if i >= a.users or errors:
                    return
                next_i[0] += 1
            body = json.dumps({"schemas": [USER], "userName": f"bench{c}-{i}-{stamp}@events.example"})
            conn.request("POST", "/scim/v2/Users", body=body, headers={
                "Authorization": f"Bearer {a.token}", "Content-Type": "application/scim+json"})
            r = conn.getresponse()
            raw = r.read()
            t = time.time()
            with lock:
                if r.status == 201:
                    made[json.loads(raw)["id"]] = t
                else:
                    errors.append((r.status, raw[:200]))

    start = time.time()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(a.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        print(f"events bench: a create failed: {errors[:3]}", file=sys.stderr)
        sys.exit(1)
    last_ack = max(made.values())

    first = {}  # event id -> (arrival, body)
    total, seen_lines = 0, 0
    deadline = time.time() + a.wait
    created = set()
    while True:
        with open(a.deliveries) as f:
            lines = f.readlines()
        for line in lines[seen_lines:]:
            if not line.endswith("\n"):
                break
            seen_lines += 1
            d = json.loads(line)
            total += 1
            if d["id"] not in first:
                b = json.loads(d["body"])
                first[d["id"]] = (d["t"], b)
                if b["event"] == "User.Created":
                    created.add(b["params"]["id"])
        if set(made) <= created:
            break
        if time.time() > deadline:
            print(f"events bench: {len(set(made) - created)} of {len(made)} User.Created not "
                  f"delivered after {a.wait:.0f} s", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.05)

    arrivals = [t for t, b in first.values() if b["event"] == "User.Created" and b["params"]["id"] in made]
    lat = sorted(t - ms_of(b["createdAt"]) for t, b in first.values()
                 if b["event"] == "User.Created" and b["params"]["id"] in made)
    from_ack = sorted(t - made[b["params"]["id"]] for t, b in first.values()
                      if b["event"] == "User.Created" and b["params"]["id"] in made)
    span = max(arrivals) - start
    print(f"| {a.backend} | {len(made)} | {a.clients} | {len(made) / (last_ack - start):,.0f} "
          f"| {len(arrivals) / span:,.0f} | {pct(lat, 0.5) * 1000:,.0f} ms | {pct(lat, 0.99) * 1000:,.0f} ms "
          f"| {lat[-1] * 1000:,.0f} ms | {total - len(first)} |")
    print(f"  ({a.backend}: creates took {last_ack - start:.2f} s, the last delivery came "
          f"{max(arrivals) - last_ack:.2f} s after the last create's answer; from each create's "
          f"2xx to its delivery p50 {pct(from_ack, 0.5) * 1000:,.0f} ms, "
          f"p99 {pct(from_ack, 0.99) * 1000:,.0f} ms)", file=sys.stderr)


if __name__ == "__main__":
    main()

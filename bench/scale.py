#!/usr/bin/env python3
"""The large-directory write workload against one running SCIM server (Muster or the
reference scim2-server), over HTTP with keep-alive connections (standard library only).

  scale.py --url http://127.0.0.1:PORT/scim/v2 --token T --users N [--bulk] [--workers W]
           [--groups G] [--big] [--pid PID] [--samples S]

Seeds N users — through Bulk (1000 operations per request, `--bulk`) or through concurrent
POSTs (W workers) — then G groups of 10 members, and with `--big` one group of all N users
(PATCH adds of 10,000 members each); then measures a PATCH adding one member to the big group
(S samples: p50, p95), GET of the big group with and without members, a cursor walk of every
user (1000 per page), and, with `--pid`, the server's peak RSS (VmHWM). Prints one JSON object.
"""

import argparse
import http.client
import json
import statistics
import threading
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


class Client:
    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.base = u.hostname, u.port, u.path.rstrip("/")
        self.token = token
        self.conn = None

    def call(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
            try:
                data = None if body is None else json.dumps(body)
                headers = {"Authorization": f"Bearer {self.token}"}
                if data is not None:
                    headers["Content-Type"] = "application/scim+json"
                self.conn.request(method, self.base + path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None), len(raw)
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def user(i):
    return {"schemas": [USER], "userName": f"user{i:06d}@scale.example",
            "name": {"givenName": "U", "familyName": f"{i}"},
            "emails": [{"value": f"user{i:06d}@scale.example", "primary": True}]}


def seed_bulk(c, n):
    ids = []
    for start in range(0, n, 1000):
        ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(i)}
               for i in range(start, min(n, start + 1000))]
        s, body, _ = c.call("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
        assert s == 200, (s, body)
        for op in body["Operations"]:
            assert op["status"] == "201", op
            ids.append(op["location"].rsplit("/", 1)[1])
    return ids


def seed_posts(url, token, n, workers):
    ids = [None] * n
    nxt = iter(range(n))
    lock = threading.Lock()

    def work():
        c = Client(url, token)
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            s, body, _ = c.call("POST", "/Users", user(i))
            assert s == 201, (s, body)
            ids[i] = body["id"]

    ts = [threading.Thread(target=work) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ids


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--bulk", action="store_true")
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--groups", type=int, default=0)
    p.add_argument("--big", action="store_true")
    p.add_argument("--pid", type=int)
    p.add_argument("--samples", type=int, default=200)
    a = p.parse_args()
    c = Client(a.url, a.token)
    out = {"users": a.users, "method": "bulk" if a.bulk else f"{a.workers} concurrent POSTs"}

    t = time.time()
    ids = seed_bulk(c, a.users) if a.bulk else seed_posts(a.url, a.token, a.users, a.workers)
    dt = time.time() - t
    out["seed_seconds"] = round(dt, 2)
    out["users_per_second"] = round(a.users / dt, 1)

    if a.groups:
        t = time.time()
        for start in range(0, a.groups, 100):
            ops = [{"method": "POST", "path": "/Groups", "bulkId": f"g{g}",
                    "data": {"schemas": [GROUP], "displayName": f"group{g:04d}",
                             "members": [{"value": ids[(g * 10 + k) % len(ids)]} for k in range(10)]}}
                   for g in range(start, min(a.groups, start + 100))]
            s, body, _ = c.call("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
            assert s == 200 and all(o["status"] == "201" for o in body["Operations"]), body
        out["groups_seconds"] = round(time.time() - t, 2)

    if a.big:
        s, g, _ = c.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "everyone"})
        assert s == 201, g
        big = g["id"]
        t = time.time()
        for start in range(0, len(ids) - a.samples, 10000):
            chunk = ids[start:min(len(ids) - a.samples, start + 10000)]
            s, body, _ = c.call("PATCH", f"/Groups/{big}?excludedAttributes=members", {
                "schemas": [PATCH],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in chunk]}]})
            assert s in (200, 204), (s, body)
        out["big_group_fill_seconds"] = round(time.time() - t, 2)
        lat = []
        for i in ids[len(ids) - a.samples:]:
            t = time.perf_counter()
            s, body, _ = c.call("PATCH", f"/Groups/{big}?excludedAttributes=members", {
                "schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": i}]}]})
            lat.append((time.perf_counter() - t) * 1000)
            assert s in (200, 204), (s, body)
        lat.sort()
        out["patch_add_one_member_ms"] = {"p50": round(statistics.median(lat), 2),
                                          "p95": round(lat[int(len(lat) * 0.95) - 1], 2)}
        t = time.perf_counter()
        s, body, size = c.call("GET", f"/Groups/{big}")
        out["get_big_group_with_members"] = {"ms": round((time.perf_counter() - t) * 1000, 1),
                                             "members": len(body.get("members", [])), "bytes": size}
        lat = []
        for _ in range(a.samples):
            t = time.perf_counter()
            s, body, size = c.call("GET", f"/Groups/{big}?excludedAttributes=members")
            lat.append((time.perf_counter() - t) * 1000)
            assert s == 200 and "members" not in body, (s, body)
        out["get_big_group_without_members_ms_p50"] = round(statistics.median(lat), 2)

    t = time.time()
    seen, cursor, pages = 0, "", 0
    while True:
        s, body, _ = c.call("GET", f"/Users?count=1000&cursor={cursor}")
        if s != 200:
            out["cursor_walk"] = f"unsupported ({s})"
            break
        seen += len(body.get("Resources", []))
        pages += 1
        cursor = body.get("nextCursor")
        if not cursor:
            out["cursor_walk"] = {"seconds": round(time.time() - t, 2), "users": seen, "pages": pages}
            break
    if a.pid:
        out["peak_rss_mb"] = round(rss_kb(a.pid) / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

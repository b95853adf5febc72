#!/usr/bin/env python3
"""Filters at scale against one running Muster (standard library only; bench/filters.sh
drives it on both backends, before and after a change).

  filters.py seed  --url http://127.0.0.1:PORT/scim/v2 --token T --users N
  filters.py query --url ... --token T [--repeat R]

`seed` makes N users through SCIM Bulk (1000 operations a request) — userName `user{i}`,
displayName `User {i}`, title `Title {i % 1000}`, one email `user{i}@scale.example` — and
reports the seconds of the first 10,000 (an empty directory) and of the last 10,000, then 200
single POST /Users (p50, p95). `query` sends each filter of FILTERS once to warm up, then R
times (count=10), and reports the median milliseconds and totalResults. One JSON object.
"""

import argparse
import json
import statistics
import time
import urllib.parse

from scale import Client  # bench/scale.py: keep-alive HTTP, one retry on a dropped connection

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

FILTERS = [
    'userName eq "user5"',
    'userName co "9999"',
    'userName ew "999"',
    'emails.value co "x"',
    'emails.value co "r9999@"',
    'title co "le 123"',
    'title co "title"',
    'userName co "99"',
]


def user(i):
    return {"schemas": [USER], "userName": f"user{i}", "displayName": f"User {i}",
            "title": f"Title {i % 1000}", "name": {"givenName": "U", "familyName": f"F{i}"},
            "emails": [{"value": f"user{i}@scale.example", "primary": True}]}


def seed(c, n):
    out, t0 = {}, time.time()
    for start in range(0, n, 1000):
        if start == 10000:
            out["bulk_first_10000_s"] = round(time.time() - t0, 2)
        if start == n - 10000:
            t_last = time.time()
        ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(i)}
               for i in range(start, min(n, start + 1000))]
        s, body, _ = c.call("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
        assert s == 200 and all(o["status"] == "201" for o in body["Operations"]), (s, body)
    out["bulk_last_10000_s"] = round(time.time() - t_last, 2)
    out["bulk_all_s"] = round(time.time() - t0, 2)
    lat = []
    for i in range(n, n + 200):
        t = time.perf_counter()
        s, body, _ = c.call("POST", "/Users", user(i))
        lat.append((time.perf_counter() - t) * 1000)
        assert s == 201, (s, body)
    lat.sort()
    out["post_ms"] = {"p50": round(statistics.median(lat), 2), "p95": round(lat[189], 2)}
    return out


def query(c, repeat):
    out = {}
    for f in FILTERS:
        path = f"/Users?count=10&filter={urllib.parse.quote(f)}"
        s, body, _ = c.call("GET", path)
        assert s == 200, (f, s, body)
        lat = []
        for _ in range(repeat):
            t = time.perf_counter()
            s, body, _ = c.call("GET", path)
            lat.append((time.perf_counter() - t) * 1000)
        out[f] = {"ms": round(statistics.median(lat), 1), "hits": body["totalResults"]}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["seed", "query"])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--users", type=int, default=100000)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    c = Client(a.url, a.token)
    print(json.dumps(seed(c, a.users) if a.what == "seed" else query(c, a.repeat)))


if __name__ == "__main__":
    main()

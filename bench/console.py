#!/usr/bin/env python3
"""Console page times at a large directory, against one running Muster (standard library).

  console.py --url http://127.0.0.1:PORT --token T --users N [--samples S]

Seeds N users through SCIM Bulk (1000 a request) unless the directory already has them,
signs in to the console with the token (an orgs:admin token), then times S sequential GETs
(keep-alive, after 20 warm-up requests) of each console page: the users page of 100, page 51,
sorted by user name, a search, the dashboard, a user's page, the activity page, a user in each API.
The time is the client's, over loopback: the whole request, so an upper bound of the
render. Prints one JSON object: {page: {"p50_ms", "p99_ms", "bytes"}}.
"""

import argparse
import html
import http.client
import json
import re
import statistics
import time
import urllib.parse

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


class Http:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)

    def call(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        return r.status, r.getheaders(), r.read()


def seed(c, token, n):
    auth = {"Authorization": f"Bearer {token}"}
    s, _, raw = c.call("GET", "/scim/v2/Users?count=0", headers=auth)
    have = json.loads(raw)["totalResults"]
    for start in range(have, n, 1000):
        ops = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}",
                "data": {"schemas": [USER], "userName": f"user{i:06d}",
                         "displayName": f"User {i}",
                         "name": {"givenName": f"Given{i % 977}", "familyName": f"Family{i % 983}"},
                         "emails": [{"value": f"user{i:06d}@example.com", "primary": True}]}}
               for i in range(start, min(n, start + 1000))]
        body = json.dumps({"schemas": [BULK], "Operations": ops})
        s, _, raw = c.call("POST", "/scim/v2/Bulk", body,
                           {**auth, "Content-Type": "application/scim+json"})
        assert s == 200, (s, raw[:300])


def cookie_of(headers, name):
    for k, v in headers:
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v.split(";", 1)[0]
    return None


def sign_in(c, token):
    s, h, raw = c.call("GET", "/console/login")
    login_cookie = cookie_of(h, "muster_console_login")
    csrf = re.search(rb'name="csrf" value="([^"]+)"', raw).group(1).decode()
    form = urllib.parse.urlencode({"csrf": csrf, "method": "token", "token": token})
    s, h, raw = c.call("POST", "/console/login", form,
                       {"Content-Type": "application/x-www-form-urlencoded", "Cookie": login_cookie})
    assert s == 303, (s, raw[:300])
    return cookie_of(h, "muster_console")


def timed(c, cookie, path, samples):
    for _ in range(20):
        s, _, raw = c.call("GET", path, headers={"Cookie": cookie})
        assert s == 200, (path, s, raw[:300])
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        s, _, raw = c.call("GET", path, headers={"Cookie": cookie})
        times.append((time.perf_counter() - t) * 1000)
        assert s == 200, (path, s)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            "bytes": len(raw)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--users", type=int, default=100000)
    ap.add_argument("--samples", type=int, default=200)
    a = ap.parse_args()
    c = Http(a.url)
    t = time.perf_counter()
    seed(c, a.token, a.users)
    seeded = time.perf_counter() - t
    cookie = sign_in(c, a.token)
    s, _, first = c.call("GET", "/console/users", headers={"Cookie": cookie})
    rows = first.count(b'name="ids" value="')
    assert rows == 100, rows
    nxt = html.unescape(re.search(rb'rel="next" href="([^"]+)"', first).group(1).decode())
    # A page deep in the directory: follow "Next page" 50 times.
    for _ in range(50):
        s, _, page = c.call("GET", nxt, headers={"Cookie": cookie})
        nxt = html.unescape(re.search(rb'rel="next" href="([^"]+)"', page).group(1).decode())
    uid = re.search(rb'href="/console/users/([0-9A-F]{16})"', first).group(1).decode()
    out = {"users": a.users, "seed_s": round(seeded, 1)}
    for name, path in [
        ("users page of 100", "/console/users"),
        ("users page 51", nxt),
        ("users page sorted by user name", "/console/users?sort=user"),
        ("users search (count + page)", "/console/users?q=user0999"),
        ("dashboard", "/console/"),
        ("a user", f"/console/users/{uid}"),
        ("a user in each API", f"/console/users/{uid}/apis"),
        ("activity (50 of 100,000+)", "/console/activity"),
    ]:
        out[name] = timed(c, cookie, path, a.samples)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

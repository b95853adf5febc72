#!/usr/bin/env python3
"""Filters at scale (issue 31): SCIM filter latency at 100,000 and 1,000,000 users.

Seeds a directory in bulk with SQL (not through HTTP) after `muster migrate`, so a million
users take a minute, not an hour: every user has a userName, an externalId, a displayName,
given/family/formatted names, a title (one of 200), a department (one of 500), a work email,
one extension value (a registered schema's costCenter), created and lastModified times one
minute apart, and 1% are inactive. Ids are random 60-bit numbers (the first 15 hex digits of
md5(i)), as Muster's own are random: ids in creation order would make every "recent" filter
the worst case of a page walked in id order. Then starts `muster serve` on it and times each filter of
the table below, `count=10`, the median of five requests after one warm-up, and checks each
answer's totalResults against what the seed implies.

    (with Python's sqlite3 older than 3.43, `pip install pysqlite3-binary` in a venv first)
    bench/filters_sql.py --bin target/release/muster [--bin-before OTHER] [--sizes 100000 1000000]
                     [--backends sqlite postgres] [--postgres-url URL]

With --bin-before, every size and backend runs with both binaries on fresh databases
(before first), and the table shows both. Prints a Markdown table; nothing is committed.
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

try:
    # The server's trigram tables need SQLite 3.43 or later (FTS5 `contentless_delete`), which
    # the seed's inserts fire through their triggers; Python's own sqlite3 may be older.
    import pysqlite3 as sqlite3  # pip install pysqlite3-binary
except ImportError:
    import sqlite3

TOKEN = "bench-filters-token-0123456789abcdef"
EXT = "urn:example:bench:2.0:User"


def filters(n):
    """(label, filter, expected totalResults or None) for a directory of n users."""
    last = n - 1
    hits_9999 = sum(1 for i in range(n) if "9999" in f"{i:07}")
    title_hits = len(range(7, n, 200))
    dept_hits = len(range(11, n, 500))
    inactive = len(range(3, n, 100))
    recent = n // 200  # the newest 0.5%
    t0 = 1735689600  # 2025-01-01T00:00:00Z
    iso = lambda s: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
    return [
        ("userName eq", f'userName eq "user{last:07}@example.com"', 1),
        ("userName co \"9999\"", 'userName co "9999"', hits_9999),
        ("userName sw", f'userName sw "user{last // 10:06}"', len(range((last // 10) * 10, min(n, (last // 10) * 10 + 10)))),
        ("userName ew \"999\"", 'userName ew "999"', 0),
        ("emails.value eq", f'emails.value eq "user{last:07}@work{last % 50}.example"', 1),
        ("emails.value co \"x\" (all)", 'emails.value co "x"', n),
        ("emails.value co (one)", f'emails.value co "{last:07}@work"', 1),
        ("displayName eq", f'displayName eq "User {last:07}"', 1),
        ("name.familyName eq", 'name.familyName eq "Family1008"', len(range(1008, n, 1009))),
        ("name.givenName sw", 'name.givenName sw "Given99"', sum(1 for i in range(n) if str(i % 997).startswith("99"))),
        ("externalId eq", f'externalId eq "ext-{last:07}"', 1),
        ("title eq \"t\" (none)", 'title eq "t"', 0),
        ("title eq (0.5%)", 'title eq "Title 7"', title_hits),
        ("title co (0.5%)", 'title co "tle 177"', len(range(177, n, 200))),
        ("department eq (0.2%)", 'department eq "Dept 11"', dept_hits),
        ("active eq false (1%)", "active eq false", inactive),
        ("meta.created gt (all)", f'meta.created gt "{iso(t0 - 60)}"', n),
        ("meta.created gt (0.5%)", f'meta.created gt "{iso(t0 + (n - recent - 1) * 60)}"', recent),
        ("meta.lastModified gt (0.5%)", f'meta.lastModified gt "{iso(t0 + (n - recent - 1) * 60)}"', recent),
        ("costCenter eq (extension)", f'{EXT}:costCenter eq "cc-{last:07}"', 1),
    ]


def seed_sqlite(path, n):
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("BEGIN")
    t0 = 1735689600
    fmt = lambda s: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s))
    batch = 50_000
    for start in range(0, n, batch):
        users, values, ext = [], [], []
        for i in range(start, min(n, start + batch)):
            uid = int(hashlib.md5(str(i).encode()).hexdigest()[:15], 16)
            name = f"user{i:07}@example.com"
            users.append((uid, name, name, f"ext-{i:07}", f"User {i:07}", f"user {i:07}",
                          f"Given{i % 997}", f"Family{i % 1009}", f"Given{i % 997} Family{i % 1009}",
                          f"Title {i % 200}", f"Dept {i % 500}", 0 if i % 100 == 3 else 1,
                          fmt(t0 + i * 60), fmt(t0 + i * 60)))
            email = f"user{i:07}@work{i % 50}.example"
            values.append((uid, email, email))
            ext.append((uid, f"CC-{i:07}", f"cc-{i:07}"))
        con.executemany(
            "INSERT INTO users (id, org_id, user_name, user_name_lower, external_id, display_name, "
            "display_name_lower, name_given, name_family, name_formatted, title, department, active, "
            "custom_data, profile_extra, is_locked, mfa_enabled, version, created_at, updated_at) "
            "VALUES (?, 'default', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', '{}', 0, 0, 1, ?, ?)", users)
        con.executemany(
            "INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, type, is_primary) "
            "VALUES (?, 'emails', 0, 'default', ?, ?, 'work', 1)", values)
        con.executemany(
            "INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, kind) "
            f"VALUES (?, '{EXT}:costCenter', 0, 'default', ?, ?, 's')", ext)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


PG_SEED = """
BEGIN;
INSERT INTO users (id, org_id, user_name, user_name_lower, external_id, display_name, display_name_lower,
                   name_given, name_family, name_formatted, title, department, active, custom_data,
                   profile_extra, is_locked, mfa_enabled, version, created_at, updated_at)
SELECT ('x' || substr(md5(i::text), 1, 15))::bit(60)::bigint, 'default',
       'user' || lpad(i::text, 7, '0') || '@example.com', 'user' || lpad(i::text, 7, '0') || '@example.com',
       'ext-' || lpad(i::text, 7, '0'), 'User ' || lpad(i::text, 7, '0'), 'user ' || lpad(i::text, 7, '0'),
       'Given' || (i % 997), 'Family' || (i % 1009), 'Given' || (i % 997) || ' Family' || (i % 1009),
       'Title ' || (i % 200), 'Dept ' || (i % 500), i % 100 <> 3, '{}', '{}', FALSE, FALSE, 1,
       timestamp '2025-01-01 00:00:00' + i * interval '1 minute',
       timestamp '2025-01-01 00:00:00' + i * interval '1 minute'
FROM generate_series(0, :n - 1) AS i;
INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, type, is_primary)
SELECT ('x' || substr(md5(i::text), 1, 15))::bit(60)::bigint, 'emails', 0, 'default',
       'user' || lpad(i::text, 7, '0') || '@work' || (i % 50) || '.example',
       'user' || lpad(i::text, 7, '0') || '@work' || (i % 50) || '.example', 'work', TRUE
FROM generate_series(0, :n - 1) AS i;
INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, kind)
SELECT ('x' || substr(md5(i::text), 1, 15))::bit(60)::bigint, :'ext', 0, 'default',
       'CC-' || lpad(i::text, 7, '0'), 'cc-' || lpad(i::text, 7, '0'), 's'
FROM generate_series(0, :n - 1) AS i;
COMMIT;
ANALYZE;
"""


def seed_postgres(url, n):
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-v", f"n={n}", "-v", f"ext={EXT}:costCenter"],
                   input=PG_SEED, text=True, check=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(base, method, path, body=None, query=None):
    url = base + path + ("?" + urllib.parse.urlencode(query) if query else "")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read() or b"null")


def run(binary, backend, url, n, label, rows):
    env = dict(os.environ, RUST_LOG="warn", MUSTER_BOOTSTRAP_TOKEN=TOKEN)
    subprocess.run([binary, "migrate", "--database-url", url], env=env, check=True, capture_output=True)
    t = time.time()
    if backend == "sqlite":
        seed_sqlite(url.removeprefix("sqlite://"), n)
    else:
        seed_postgres(url, n)
    seeded = time.time() - t
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([binary, "serve", "--database-url", url, "--bind", f"127.0.0.1:{port}"],
                              env=env, stdout=log, stderr=log)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        request(base, "POST", "/admin/v1/schemas",
                {"schema": {"id": EXT, "attributes": [{"name": "costCenter", "type": "string"}]}})
        print(f"# {label} {backend} {n}: seeded in {seeded:.0f} s", file=sys.stderr, flush=True)
        for name, flt, expected in filters(n):
            q = {"filter": flt, "count": "10", "attributes": "userName"}
            body = request(base, "GET", "/scim/v2/Users", query=q)
            if expected is not None and body.get("totalResults") != expected:
                raise SystemExit(f"{label} {backend} {n} {name}: totalResults {body.get('totalResults')}, "
                                 f"expected {expected}")
            times = []
            for _ in range(5):
                t = time.perf_counter()
                request(base, "GET", "/scim/v2/Users", query=q)
                times.append((time.perf_counter() - t) * 1000)
            rows.setdefault((backend, n, name), {})[label] = (statistics.median(times), body.get("totalResults"))
            print(f"#   {name}: {statistics.median(times):.1f} ms ({body.get('totalResults')} hits)",
                  file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/muster")
    ap.add_argument("--bin-before")
    ap.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    ap.add_argument("--postgres-url", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL")
                    or os.environ.get("MUSTER_TEST_POSTGRES_URL"))
    a = ap.parse_args()
    bins = ([("before", a.bin_before)] if a.bin_before else []) + [("after", a.bin)]
    rows = {}
    work = tempfile.mkdtemp()
    try:
        for n in a.sizes:
            for backend in a.backends:
                for label, binary in bins:
                    if backend == "sqlite":
                        run(binary, backend, f"sqlite://{work}/f-{n}-{label}.db", n, label, rows)
                        for f in os.listdir(work):
                            os.remove(os.path.join(work, f))
                    elif a.postgres_url:
                        db = f"muster_bench_filters_{os.getpid()}"
                        admin = a.postgres_url
                        subprocess.run(["psql", admin, "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=True)
                        subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {db}"], check=True)
                        p = urllib.parse.urlsplit(admin)
                        try:
                            run(binary, backend, urllib.parse.urlunsplit(p._replace(path="/" + db)), n, label, rows)
                        finally:
                            subprocess.run(["psql", admin, "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    labels = [l for l, _ in bins]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; count=10, median of 5")
    print("| filter | backend | users | hits | " + " | ".join(f"{l} ms" for l in labels) + " |")
    print("|---|---|---|---|" + "---|" * len(labels))
    for (backend, n, name), by in rows.items():
        hits = next(iter(by.values()))[1]
        cells = " | ".join(f"{by[l][0]:.1f}" if l in by else "-" for l in labels)
        print(f"| `{name}` | {backend} | {n:,} | {hits} | {cells} |")


if __name__ == "__main__":
    main()

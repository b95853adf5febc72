#!/usr/bin/env python3
"""Drive one Muster server through SIGKILLs, then check that it kept every acknowledged write.

  drive.py load   --url URL --token T --client ID:SECRET --state FILE --ready FILE --stop FILE
      Writers in four dialects at once, until FILE --stop exists: SCIM creates users, replaces
      each one's title (PATCH) and adds every second one to a shared group (PATCH /Groups);
      Logto creates users (POST /api/users) and renames each (PATCH); Domo creates users
      (POST /v1/users) and adds each to a Domo group (PUT /v1/groups/{id}/users/{user});
      Sumo Logic creates users (POST /api/v1/users, HTTP Basic). Every answer is kept: a 2xx
      is an acknowledged write, with what it must have caused; a refused or reset connection
      (the server is dead or restarting) is not acknowledged, and the writer moves on. Every
      SCIM version seen is kept with its time. Writes FILE --ready once the groups exist.
  drive.py verify --url URL --token T --state FILE --db DATABASE_URL --kills N
      Through the API: every acknowledged user is there with what its writes set, every
      acknowledged membership is in its group, each group's version is 1 + its member count,
      and no resource's version went back across observations (acknowledged ones before a
      kill, the final read after the last). In SQL (sqlite3 module / psql): the database is
      intact (SQLite integrity_check and foreign_key_check), memberships and user values
      reference existing rows, and each acknowledged change has its audit entry. Prints the
      figures: writes acknowledged, kills, writes lost.

Standard library only; the HTTP client is cluster/musterhttp.py.
"""

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from musterhttp import basic, call  # noqa: E402

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
JSON = "application/json"


def fail(msg):
    print(f"crash check FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def version(v):
    """W/"7" -> 7."""
    return int(str(v).strip('W/"'))


class Log:
    """What the writers saw, shared between their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acks = []      # acknowledged writes: what each must have caused
        self.versions = []  # (resource, version, time) from every SCIM answer
        self.unacked = 0    # writes not acknowledged (connection refused or reset)
        self.errors = []    # answers that are neither: a bug

    def answer(self, what, status, body, ok):
        """True when the write was acknowledged with one of `ok`."""
        with self.lock:
            if status in ok:
                return True
            if status == 0:
                self.unacked += 1
                time.sleep(0.02)  # the server is down: no need to spin
            else:
                self.errors.append({"what": what, "status": status, "body": body})
            return False

    def ack(self, rec):
        rec["t"] = time.time()
        with self.lock:
            self.acks.append(rec)

    def saw(self, resource, meta):
        if isinstance(meta, dict) and "version" in meta:
            with self.lock:
                self.versions.append((resource, version(meta["version"]), time.time()))


def retry_setup(what, fn):
    """Setup calls before the first kill; retried only while the server is starting."""
    for _ in range(200):
        s, _, b = fn()
        if s in (200, 201):
            return b
        if s != 0:
            fail(f"{what}: {s} {b}")
        time.sleep(0.05)
    fail(f"{what}: the server does not answer")


def load(a):
    url = a.url.rstrip("/")
    tok = a.token
    cid, secret = a.client.split(":", 1)
    sumo_auth = {"Authorization": basic(cid, secret)}
    stamp = int(time.time())
    log = Log()
    g = retry_setup("creating the SCIM group", lambda: call(
        "POST", f"{url}/scim/v2/Groups", tok, {"schemas": [GROUP], "displayName": f"crash-{stamp}"}))
    scim_group = g["id"]
    log.saw(("group", scim_group), g["meta"])
    d = retry_setup("creating the Domo group", lambda: call(
        "POST", f"{url}/v1/groups", tok, {"name": f"crash-domo-{stamp}"}, content_type=JSON))
    domo_group = d["id"]
    with open(a.ready, "w") as f:
        f.write("ready\n")
    stopped = lambda: os.path.exists(a.stop)  # noqa: E731

    def scim(w):
        i = 0
        while not stopped():
            i += 1
            name = f"scim{w}-{i}-{stamp}@crash.example"
            s, _, u = call("POST", f"{url}/scim/v2/Users", tok, {"schemas": [USER], "userName": name})
            if not log.answer("scim create", s, u, (201,)):
                continue
            uid = u["id"]
            log.ack({"op": "create", "dialect": "scim", "id": uid, "userName": name})
            log.saw(("user", uid), u["meta"])
            title = f"title-{w}-{i}"
            s, _, u = call("PATCH", f"{url}/scim/v2/Users/{uid}", tok, {"schemas": [PATCH], "Operations": [
                {"op": "replace", "path": "title", "value": title}]})
            if log.answer("scim patch", s, u, (200,)):
                log.ack({"op": "update", "dialect": "scim", "id": uid, "field": "title", "value": title})
                log.saw(("user", uid), u["meta"])
            if i % 2 == 0:
                s, _, gb = call("PATCH", f"{url}/scim/v2/Groups/{scim_group}", tok, {
                    "schemas": [PATCH], "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": uid}]}]})
                if log.answer("scim member add", s, gb, (200, 204)):
                    log.ack({"op": "member", "dialect": "scim", "group": scim_group, "user": uid})
                    if gb:
                        log.saw(("group", scim_group), gb.get("meta"))
            s, _, u = call("GET", f"{url}/scim/v2/Users/{uid}", tok)
            if s == 200:
                log.saw(("user", uid), u["meta"])

    def logto(w):
        i = 0
        while not stopped():
            i += 1
            name = f"logto{w}_{i}_{stamp}"
            s, _, u = call("POST", f"{url}/api/users", tok, {"username": name}, content_type=JSON)
            if not log.answer("logto create", s, u, (200,)):
                continue
            uid = u["id"]
            log.ack({"op": "create", "dialect": "logto", "id": uid, "userName": name})
            display = f"Logto {w} {i}"
            s, _, u = call("PATCH", f"{url}/api/users/{uid}", tok, {"name": display}, content_type=JSON)
            if log.answer("logto patch", s, u, (200,)):
                log.ack({"op": "update", "dialect": "logto", "id": uid, "field": "displayName",
                         "value": display})

    def domo(w):
        i = 0
        while not stopped():
            i += 1
            email = f"domo{w}-{i}-{stamp}@crash.example"
            s, _, u = call("POST", f"{url}/v1/users", tok,
                           {"email": email, "name": f"Domo {w} {i}", "role": "Participant"},
                           content_type=JSON)
            if not log.answer("domo create", s, u, (200, 201)):
                continue
            uid = f"{u['id']:016X}"
            log.ack({"op": "create", "dialect": "domo", "id": uid, "userName": email})
            s, _, b = call("PUT", f"{url}/v1/groups/{domo_group}/users/{u['id']}", tok)
            if log.answer("domo member add", s, b, (200, 204)):
                log.ack({"op": "member", "dialect": "domo", "group": f"{domo_group:016X}", "user": uid})

    def sumo(w):
        i = 0
        while not stopped():
            i += 1
            email = f"sumo{w}-{i}-{stamp}@crash.example"
            s, _, u = call("POST", f"{url}/api/v1/users", None,
                           {"firstName": "Sumo", "lastName": f"{w}-{i}", "email": email, "roleIds": []},
                           headers=sumo_auth, content_type=JSON)
            if log.answer("sumo create", s, u, (200, 201)):
                log.ack({"op": "create", "dialect": "sumo", "id": u["id"], "userName": email})

    threads = [threading.Thread(target=fn, args=(w,))
               for fn, n in ((scim, 2), (logto, 1), (domo, 1), (sumo, 1)) for w in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    with open(a.state, "w") as f:
        json.dump({"groups": [scim_group, f"{domo_group:016X}"], "acks": log.acks,
                   "versions": log.versions, "unacked": log.unacked, "errors": log.errors}, f)
    print(f"load: {len(log.acks)} writes acknowledged, {log.unacked} not (server down), "
          f"{len(log.errors)} errors")


class Sql:
    """Read-only queries on the server's database: sqlite3 for a file, psql for PostgreSQL."""

    def __init__(self, url):
        self.url = url
        if url.startswith("postgres"):
            self.sqlite = None
        else:
            path = url.split("://", 1)[-1] if "://" in url else url.split(":", 1)[-1]
            self.sqlite = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def rows(self, q):
        if self.sqlite is not None:
            return [tuple(str(c) for c in r) for r in self.sqlite.execute(q).fetchall()]
        out = subprocess.run(["psql", self.url, "-X", "-q", "-tA", "-F", "\t", "-c", q],
                             check=True, capture_output=True, text=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def one(self, q):
        return self.rows(q)[0][0]


def verify(a):
    url = a.url.rstrip("/")
    tok = a.token
    with open(a.state) as f:
        state = json.load(f)
    acks, errors = state["acks"], state["errors"]
    if errors:
        fail(f"{len(errors)} answers were neither a 2xx nor a dead server: {errors[:3]}")
    creates = [r for r in acks if r["op"] == "create"]
    updates = [r for r in acks if r["op"] == "update"]
    members = [r for r in acks if r["op"] == "member"]
    if not creates or not updates or not members:
        fail(f"too little was acknowledged to check: {len(creates)} creates, "
             f"{len(updates)} updates, {len(members)} member adds")
    lost = []

    # 1. Through the API: every acknowledged write is there.
    final = {}
    for r in creates:
        s, _, u = call("GET", f"{url}/scim/v2/Users/{r['id']}", tok)
        if s != 200 or u.get("userName") != r["userName"]:
            lost.append(f"{r['dialect']} create of {r['userName']} ({r['id']}): {s}")
            continue
        final[r["id"]] = u
    for r in updates:
        u = final.get(r["id"])
        if u is None or u.get(r["field"]) != r["value"]:
            lost.append(f"{r['dialect']} update of {r['id']}: {r['field']} is "
                        f"{None if u is None else u.get(r['field'])!r}, acknowledged {r['value']!r}")
    group_members = {}
    for gid in state["groups"]:
        s, _, g = call("GET", f"{url}/scim/v2/Groups/{gid}", tok)
        if s != 200:
            fail(f"reading group {gid}: {s} {g}")
        have = {m["value"] for m in g.get("members", [])}
        group_members[gid] = have
        if version(g["meta"]["version"]) != 1 + len(have):
            fail(f"group {gid} has version {g['meta']['version']} after {len(have)} member adds")
        state["versions"].append([["group", gid], version(g["meta"]["version"]), time.time()])
    for r in members:
        if r["user"] not in group_members[r["group"]]:
            lost.append(f"{r['dialect']} member add of {r['user']} to {r['group']}")
    if lost:
        fail(f"{len(lost)} acknowledged writes lost (of {len(acks)}, {a.kills} kills): {lost[:5]}")
    for uid, u in final.items():
        state["versions"].append([["user", uid], version(u["meta"]["version"]), time.time()])

    # 2. Versions never go back: per resource, in the order they were seen (the writers of a
    # user are sequential; a group's concurrent writers each saw theirs in order, and the
    # final read comes after all of them).
    by_resource = {}
    for res, v, t in state["versions"]:
        by_resource.setdefault(tuple(res), []).append((t, v))
    back = 0
    for res, seen in by_resource.items():
        seen.sort()
        if res[0] == "user":
            vs = [v for _, v in seen]
            if any(b < a for a, b in zip(vs, vs[1:])):
                back += 1
                print(f"  versions of {res} went back: {vs}", file=sys.stderr)
        elif seen[-1][1] < max(v for _, v in seen):
            back += 1
            print(f"  the final version of {res} is below one acknowledged earlier", file=sys.stderr)
    if back:
        fail(f"versions went back on {back} resources")

    # 3. In SQL: intact, references hold, every acknowledged change audited.
    db = Sql(a.db)
    if db.sqlite is not None:
        ok = db.one("PRAGMA integrity_check")
        if ok != "ok":
            fail(f"SQLite integrity_check: {ok}")
        bad = db.rows("PRAGMA foreign_key_check")
        if bad:
            fail(f"SQLite foreign_key_check: {bad[:5]}")
    dangling = {
        "group_users without a user":
            "SELECT count(*) FROM group_users m LEFT JOIN users u ON u.id = m.user_id WHERE u.id IS NULL",
        "group_users without a group":
            "SELECT count(*) FROM group_users m LEFT JOIN groups g ON g.id = m.group_id WHERE g.id IS NULL",
        "group_groups without a group":
            "SELECT count(*) FROM group_groups m LEFT JOIN groups g ON g.id = m.member_group_id "
            "WHERE g.id IS NULL",
        "user_values without a user":
            "SELECT count(*) FROM user_values v LEFT JOIN users u ON u.id = v.user_id WHERE u.id IS NULL",
        "users in another organization than their group":
            "SELECT count(*) FROM group_users m JOIN users u ON u.id = m.user_id WHERE u.org_id <> m.org_id",
        "users without an organization":
            "SELECT count(*) FROM users u LEFT JOIN organizations o ON o.id = u.org_id WHERE o.id IS NULL",
    }
    for what, q in dangling.items():
        n = int(db.one(q))
        if n:
            fail(f"{n} {what}")
    # Audit keys name the dialect (Scim.User.Create, Domo.User.Create, Sumo.User.Create,
    # Logto's User.Created and User.Data.Updated, Scim.User.Update).
    creates_audited, changes_audited = set(), {}
    for uid, key, n in db.rows("SELECT user_id, key, count(*) FROM audit_entries "
                               "WHERE user_id IS NOT NULL GROUP BY user_id, key"):
        uid = f"{int(uid):016X}"
        if key.endswith("User.Create") or key == "User.Created":
            creates_audited.add(uid)
        changes_audited[uid] = changes_audited.get(uid, 0) + int(n)
    acked_changes = {}
    for r in creates + updates:
        acked_changes[r["id"]] = acked_changes.get(r["id"], 0) + 1
    unaudited = []
    for r in creates:
        if r["id"] in final and r["id"] not in creates_audited:
            unaudited.append(f"{r['dialect']} create of {r['id']}")
    for uid, n in acked_changes.items():
        if changes_audited.get(uid, 0) < n:
            unaudited.append(f"{n - changes_audited.get(uid, 0)} changes of {uid}")
    # A member add is a Group.Update entry of its group carrying the version it made: the
    # entries are exactly versions 2..v, one per committed change, none missing or doubled.
    for gid in state["groups"]:
        made = sorted(json.loads(p[0])["version"] for p in db.rows(
            f"SELECT payload FROM audit_entries WHERE key LIKE '%Group.Update' "
            f"AND payload LIKE '%\"groupId\":\"{gid}\"%'"))
        want = list(range(2, 2 + len(group_members[gid])))
        if made != want:
            unaudited.append(f"group {gid}: audit versions {made[:5]}... for versions 2..{1 + len(group_members[gid])}")
    if unaudited:
        fail(f"acknowledged changes without their audit entry: {unaudited[:5]}")
    # Logto's view of the trail agrees for a user of each dialect.
    for dialect in ("scim", "logto", "domo", "sumo"):
        r = next((r for r in creates if r["dialect"] == dialect), None)
        if r is None:
            continue
        s, _, logs = call("GET", f"{url}/api/logs?userId={r['id']}", tok)
        if s != 200 or not any(e.get("key", "").endswith("User.Create")
                               or e.get("key") == "User.Created" for e in logs):
            fail(f"/api/logs?userId={r['id']} ({dialect}) lacks User.Create: {s} {logs}")

    users_in_db = int(db.one("SELECT count(*) FROM users"))
    by = {}
    for r in acks:
        by[f"{r['dialect']} {r['op']}"] = by.get(f"{r['dialect']} {r['op']}", 0) + 1
    print(f"verify: {len(acks)} writes acknowledged ({', '.join(f'{k} {v}' for k, v in sorted(by.items()))}); "
          f"{state['unacked']} requests unanswered while the server was down; {a.kills} kills; "
          f"{len(lost)} writes lost; {users_in_db} users in the database, "
          f"{users_in_db - len(creates)} of them committed without their answer reaching the client")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["load", "verify"])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--client", default="")
    p.add_argument("--state", required=True)
    p.add_argument("--ready", default="")
    p.add_argument("--stop", default="")
    p.add_argument("--db", default="")
    p.add_argument("--kills", type=int, default=0)
    a = p.parse_args()
    load(a) if a.mode == "load" else verify(a)


if __name__ == "__main__":
    main()

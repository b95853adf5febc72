"""The official Domo SDK (pydomo, unmodified) against a running Muster.

    python pydomo_check.py BASE_HOST CLIENT_ID CLIENT_SECRET

BASE_HOST is `127.0.0.1:PORT` (pydomo builds every URL as scheme + host + path; the scheme
comes from `use_https`). Every step is asserted; the first failure exits 1 and says which.
"""

import sys
import time
import uuid

from pydomo import Domo
from pydomo.users import CreateUserRequest

STEPS = 0


def step(name):
    global STEPS
    STEPS += 1
    print(f"ok {STEPS} - {name}", flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def gone(call, what):
    """`call` must raise: pydomo raises on any status but its exact success code."""
    try:
        call()
    except Exception as e:  # pydomo raises a bare Exception with the body text
        check("not found" in str(e), f"{what}: expected a not-found error, got {e}")
        return
    raise AssertionError(f"{what}: still there")


def main(host, client_id, client_secret):
    # The constructor fetches the token: POST /oauth/token, Basic, grant_type=client_credentials.
    domo = Domo(client_id, client_secret, api_host=host, use_https=False, request_timeout=30)
    expiry = domo.transport.token_expiration
    check(expiry > time.time(), f"the token's exp claim is read (got {expiry})")
    step("authenticated; the access token is a JWT with a future exp")

    tag = uuid.uuid4().hex[:8]
    emails = [f"pydomo-{tag}-{i}@example.com" for i in range(3)]
    created = []
    # users_add: POST /v1/users/?sendInvite=False (and True).
    for i, email in enumerate(emails[:2]):
        u = domo.users_add(f"Py User {i}", email, "Participant", i == 1)
        check(isinstance(u["id"], int), f"integer id: {u}")
        check(u["email"] == email and u["role"] == "Participant", f"created: {u}")
        created.append(u)
    req = CreateUserRequest()
    req.name = "Py User 2"
    req.email = emails[2]
    req.role = "Privileged"
    u = domo.users.create(req, False)
    check(u["role"] == "Privileged", f"created: {u}")
    created.append(u)
    ids = [u["id"] for u in created]
    step(f"created 3 users {ids}")

    for u in created:
        got = domo.users_get(u["id"])
        check(got["id"] == u["id"] and got["email"] == u["email"], f"get: {got}")
        check(got["name"] == u["name"], f"get: {got}")
    step("get each user")

    # list(limit, offset) pages; past the end an empty page.
    everyone = domo.users.list(500, 0)
    check(set(ids) <= {x["id"] for x in everyone}, "list(500, 0) holds every user")
    paged = []
    offset = 0
    while True:
        page = domo.users.list(2, offset)
        check(len(page) <= 2, f"limit 2 gave {len(page)}")
        if not page:
            break
        paged.extend(x["id"] for x in page)
        offset += 2
    check(paged == [x["id"] for x in everyone], "pages of 2 walk the same users in the same order")
    check(len(paged) == len(set(paged)), "no user twice")
    step(f"list with limit/offset: {len(paged)} users in pages of 2")

    walked = domo.users.list_all(df_output=False)
    check({x["id"] for x in walked} == {x["id"] for x in everyone}, "list_all")
    frame = domo.users_list()
    check(len(frame) == len(everyone), f"users_list() rows {len(frame)}")
    check({"id", "name", "email", "role"} <= set(frame.columns), f"columns {list(frame.columns)}")
    check(set(ids) <= set(frame["id"].tolist()), "the DataFrame has the new users")
    step(f"list_all and users_list() DataFrame ({len(frame)} rows)")

    upd = domo.users_update(
        ids[0], {"name": "Py User Zero", "email": emails[0], "role": "Privileged"}
    )
    check(upd["name"] == "Py User Zero" and upd["role"] == "Privileged", f"update: {upd}")
    got = domo.users_get(ids[0])
    check(got["name"] == "Py User Zero" and got["role"] == "Privileged", f"after update: {got}")
    check(got["email"] == emails[0], f"email kept: {got}")
    upd = domo.users_update(ids[1], {"title": "Analyst"})
    check(upd["title"] == "Analyst" and upd["name"] == "Py User 1", f"partial update: {upd}")
    step("update users (full and partial)")

    # groups_create posts {"name", "active": "true"}, then adds the users.
    gname = f"pydomo-group-{tag}"
    grp = domo.groups_create(gname, [ids[0], ids[1]])
    gid = grp["id"]
    check(isinstance(gid, int) and grp["name"] == gname, f"group: {grp}")
    check(grp["active"] is True, f"active: {grp}")
    got = domo.groups_get(gid)
    check(got["memberCount"] == 2, f"memberCount: {got}")
    step(f"created group {gid} with 2 members")

    groups = domo.groups.list(500, 0)
    check(gid in [g["id"] for g in groups], "groups.list holds the group")
    gframe = domo.groups_list()
    check(gname in gframe["name"].tolist(), "groups_list() DataFrame holds the group")
    members = domo.groups_list_users(gid)
    check(sorted(members) == sorted(ids[:2]), f"group users {members}")
    check(all(isinstance(m, int) for m in members), "member ids are integers")
    step("listed groups and the group's users")

    domo.groups_add_users(gid, ids[2])
    check(sorted(domo.groups_list_users(gid)) == sorted(ids), "user 3 added")
    domo.groups_remove_users(gid, ids[0])
    check(sorted(domo.groups_list_users(gid)) == sorted(ids[1:]), "user 1 removed")
    check(domo.groups_get(gid)["memberCount"] == 2, "memberCount after add and remove")
    user2 = domo.users_get(ids[1])
    check({"id": gid, "name": gname} in user2["groups"], f"user's groups: {user2}")
    step("added and removed users")

    renamed = domo.groups.update(gid, {"name": gname + "-renamed"})
    check(renamed["name"] == gname + "-renamed", f"group update: {renamed}")
    step("updated the group")

    # groups_delete removes each member first, then the group.
    domo.groups_delete(gid)
    gone(lambda: domo.groups_get(gid), f"group {gid}")
    check(gid not in [g["id"] for g in domo.groups.list(500, 0)], "group gone from the list")
    step("deleted the group; it is gone")

    for uid in ids:
        domo.users_delete(uid)
        gone(lambda: domo.users_get(uid), f"user {uid}")
    left = {x["id"] for x in domo.users.list_all(df_output=False)}
    check(not (set(ids) & left), "deleted users gone from list_all")
    step("deleted the users; each is gone")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except Exception as e:
        print(f"not ok {STEPS + 1} - {type(e).__name__}: {e}", flush=True)
        print(f"pydomo: {STEPS} passed, 1 failed")
        sys.exit(1)
    print(f"pydomo: {STEPS} passed, 0 failed")

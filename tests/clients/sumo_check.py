"""Sumo Logic's official Python SDK (sumologic-sdk, unmodified) against a running Muster.

    python sumo_check.py BASE_URL ACCESS_ID ACCESS_KEY ADMIN_TOKEN

BASE_URL is `http://127.0.0.1:PORT`; the SDK's endpoint is BASE_URL + `/api`. The SDK has no
user, role or organization helpers: these are its generic get/post/put/delete calls, as
admin scripts make them. ADMIN_TOKEN is used only for what no Sumo API does (setting a
password over SCIM, loading credit usage records, confirming an email change). Every step is
asserted; the first failure exits 1 and says which.
"""

import datetime
import os
import sys
import tempfile
import uuid

import requests
from sumologic import SumoLogic

STEPS = 0


def step(name):
    global STEPS
    STEPS += 1
    print(f"ok {STEPS} - {name}", flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def fails(call, status, what):
    """`call` must raise requests.HTTPError with `status` and Sumo's error body."""
    try:
        call()
    except requests.HTTPError as e:
        got = e.response.status_code
        check(got == status, f"{what}: expected {status}, got {got}: {e.response.text}")
        body = e.response.json()
        check(len(body["id"].split("-")) == 3 and body["errors"][0]["code"], f"{what}: {body}")
        return body
    raise AssertionError(f"{what}: no error")


def sdk(base, access_id, access_key):
    jar = os.path.join(tempfile.mkdtemp(), "cookies.txt")
    return SumoLogic(access_id, access_key, endpoint=f"{base}/api", cookieFile=jar)


def main(base, access_id, access_key, admin_token):
    tag = uuid.uuid4().hex[:8]
    admin = {"Authorization": f"Bearer {admin_token}"}
    sumo = sdk(base, access_id, access_key)

    fails(lambda: sdk(base, access_id, "wrong-key").get("/users"), 401, "wrong key")
    step("a wrong access key is a 401 in Sumo's shape")

    role = sumo.post("/roles", {"name": f"ci-analyst-{tag}", "description": "CI",
                                "capabilities": ["viewCollectors"]}).json()
    check(role["name"] == f"ci-analyst-{tag}" and len(role["id"]) == 16, role)
    step("create a role")

    ids = []
    for i in range(5):
        u = sumo.post("/users", {"firstName": f"Ci{i}", "lastName": f"User{4 - i}",
                                 "email": f"ci{i}-{tag}@example.com",
                                 "roleIds": [role["id"]]}).json()
        check(u["roleIds"] == [role["id"]] and u["isActive"] is True, u)
        ids.append(u["id"])
    step("create five users with the role (200)")

    fails(lambda: sumo.post("/users", {"firstName": "D", "lastName": "U",
                                       "email": f"ci0-{tag}@example.com", "roleIds": []}),
          409, "duplicate email")
    fails(lambda: sumo.post("/users", {"firstName": "D", "lastName": "U",
                                       "email": f"other-{tag}@example.com",
                                       "roleIds": ["00000000000000AA"]}),
          400, "unknown role id")
    step("a duplicate email is a 409, an unknown role id a 400")

    for sort in (None, "email", "lastName"):
        seen, token, pages = [], None, 0
        while True:
            params = {"limit": 2}
            if sort:
                params["sortBy"] = sort
            if token:
                params["token"] = token
            page = sumo.get("/users", params).json()
            pages += 1
            seen += [u["id"] for u in page["data"]]
            token = page.get("next")
            if not token:
                break
        check(sorted(seen) == sorted(ids) and pages == 3, f"sortBy={sort}: {seen}")
        if sort == "lastName":
            check(seen == list(reversed(ids)), f"lastName order: {seen}")
    step("page with limit=2 by the next token to the end (id, email, lastName order)")

    found = sumo.get("/users", {"email": f"CI3-{tag}@EXAMPLE.com"}).json()
    check([u["id"] for u in found["data"]] == [ids[3]], found)
    step("the email filter finds one user (case-insensitively)")

    u = sumo.put(f"/users/{ids[1]}", {"firstName": "Renamed", "lastName": "Person",
                                      "isActive": True, "roleIds": [role["id"]]}).json()
    check(u["firstName"] == "Renamed" and u["lastName"] == "Person", u)
    u = sumo.put(f"/users/{ids[1]}", {"firstName": "Renamed", "lastName": "Person",
                                      "isActive": False, "roleIds": [role["id"]]}).json()
    check(u["isActive"] is False, u)
    check(sumo.get(f"/users/{ids[1]}").json()["isActive"] is False, "deactivated")
    scim = requests.get(f"{base}/scim/v2/Users/{ids[1]}", headers=admin).json()
    check(scim["active"] is False and scim["name"]["givenName"] == "Renamed", scim)
    step("update names, deactivate (SCIM reads active false)")

    r = sumo.post(f"/users/{ids[1]}/unlock", {})
    check(r.status_code == 204, r.status_code)
    check(sumo.get(f"/users/{ids[1]}").json()["isLocked"] is False, "unlocked")
    step("unlock (204)")

    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "password", "value": "Ci-pass-123"}]}
    r = requests.patch(f"{base}/scim/v2/Users/{ids[2]}", json=patch,
                       headers={**admin, "Content-Type": "application/scim+json"})
    check(r.status_code == 200, r.text)
    fails(lambda: sumo.put(f"/users/{ids[2]}/mfa/disable",
                           {"email": f"ci2-{tag}@example.com", "password": "wrong"}),
          400, "mfa/disable with a wrong password")
    r = sumo.put(f"/users/{ids[2]}/mfa/disable",
                 {"email": f"ci2-{tag}@example.com", "password": "Ci-pass-123"})
    check(r.status_code == 204, r.status_code)
    check(sumo.get(f"/users/{ids[2]}").json()["isMfaEnabled"] is False, "mfa off")
    step("MFA disable checks the user's email and password (204)")

    r = sumo.post(f"/users/{ids[2]}/email/requestChange", {"email": f"new-{tag}@example.com"})
    check(r.status_code == 204, r.status_code)
    check(sumo.get(f"/users/{ids[2]}").json()["email"] == f"ci2-{tag}@example.com", "pending")
    r = requests.post(f"{base}/admin/v1/users/{ids[2]}/email-change", headers=admin)
    check(r.status_code == 200, r.text)
    check(sumo.get(f"/users/{ids[2]}").json()["email"] == f"new-{tag}@example.com", "applied")
    r = sumo.post(f"/users/{ids[2]}/password/reset", {})
    check(r.status_code == 204, r.status_code)
    step("email change pending until confirmed; password reset recorded")

    r = sumo.delete(f"/roles/{role['id']}/users/{ids[0]}")
    check(r.status_code == 204, r.status_code)
    check(sumo.get(f"/users/{ids[0]}").json()["roleIds"] == [], "unassigned")
    got = sumo.put(f"/roles/{role['id']}/users/{ids[0]}", None).json()
    check(ids[0] in got["users"] and len(got["users"]) == 5, got)
    scim = requests.get(f"{base}/scim/v2/Users/{ids[0]}", headers=admin).json()
    check(scim["roles"][0]["value"] == role["name"], scim)
    listed = sumo.get("/roles", {"name": role["name"]}).json()
    check([r["id"] for r in listed["data"]] == [role["id"]], listed)
    step("unassign and assign the role (SCIM roles reads it)")

    r = sumo.delete(f"/users/{ids[4]}", {"transferTo": ids[3], "deleteContent": "false"})
    check(r.status_code == 204, r.status_code)
    fails(lambda: sumo.get(f"/users/{ids[4]}"), 404, "deleted user")
    fails(lambda: sumo.delete(f"/users/{ids[3]}", {"transferTo": ids[3]}), 400, "transfer to self")
    step("delete with transferTo (204), then GET is a 404")

    child = sumo.post("/organizations", {
        "organizationName": f"CI child {tag}", "email": f"child-{tag}@example.com",
        "firstName": "Child", "lastName": "Admin", "deploymentId": "us2",
        "baselines": {"continuousIngest": 50000, "metrics": 50000}}).json()
    cid = child["orgId"]
    check(cid.startswith("us2-") and child["subscription"]["credits"] == 100000, child)
    check(sumo.get(f"/organizations/{cid}").json()["orgId"] == cid, "round trip")
    check(cid in [o["orgId"] for o in sumo.get("/organizations").json()["data"]], "listed")
    fails(lambda: sumo.post("/organizations", {
        "organizationName": "Bad", "email": "b@example.com", "firstName": "B",
        "deploymentId": "us2", "baselines": {"metrics": -5}}), 400, "bad baselines")
    step("create a child organization; bad baselines are a 400")

    key = sumo.post(f"/organizations/{cid}/accessKey", {"label": "CI child key"}).json()
    check(key["key"] and key["id"], "key minted")
    kid = sdk(base, key["id"], key["key"])
    cu = kid.post("/users", {"firstName": "Kid", "lastName": "User",
                             "email": f"kid-{tag}@example.com", "roleIds": []}).json()
    check([u["id"] for u in kid.get("/users").json()["data"]] == [cu["id"]], "child's users")
    fails(lambda: sumo.get(f"/users/{cu['id']}"), 404, "parent reading the child's user")
    fails(lambda: kid.get(f"/users/{ids[0]}"), 404, "child reading the parent's user")
    step("the child's access key works on the child's users and nowhere else")

    day = datetime.date.today().isoformat()
    r = requests.post(f"{base}/admin/v1/organizations/{cid}/credit-usage", headers=admin,
                      json=[{"date": day, "productVariable": "continuousIngest",
                             "creditsUsed": 2500.0, "unit": "GB"}])
    check(r.status_code == 201, r.text)
    by_ids = sumo.post("/organizations/usages", [cid]).json()
    check(by_ids["data"][0]["orgId"] == cid and by_ids["data"][0]["totalCreditsUsed"] == 2500.0
          and by_ids["data"][0]["activeUsers"] == 1, by_ids)
    by_range = sumo.post("/organizations/usages", {"startDate": day, "endDate": day}).json()
    mine = [d for d in by_range["data"] if d["orgId"] == cid][0]
    check(mine["usages"]["totalCreditsUsed"] == 2500.0
          and mine["usages"]["usagePercentage"] == 2.5, mine)
    detailed = sumo.get(f"/organizations/usages/{cid}").json()
    check(detailed["usages"][0]["productVariable"] == "continuousIngest", detailed)
    check("totalCreditsUsed" in sumo.get("/organizations/usages").json(), "own usage")
    step("usage in both body shapes, detailed and own")

    gone = sumo.delete(f"/organizations/{cid}").json()
    check(gone["orgId"] == cid and gone["subscription"]["status"] == "Canceled", gone)
    fails(lambda: kid.get("/users"), 401, "a deactivated child's key")
    msg = sumo.put("/organizations/delink", {"orgIds": [cid]}).json()
    check(isinstance(msg, str), msg)
    fails(lambda: sumo.get(f"/organizations/{cid}"), 404, "delinked child")
    step("deactivate (200 with the document, its keys revoked) and delink")

    r = sumo.delete(f"/roles/{role['id']}")
    check(r.status_code == 204, r.status_code)
    check(sumo.get(f"/users/{ids[0]}").json()["roleIds"] == [], "role gone from users")
    step("delete the role (204); its holders lose it")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except Exception as e:  # noqa: BLE001 - report any failure as a failed step
        print(f"not ok {STEPS + 1} - {type(e).__name__}: {e}", flush=True)
        print(f"sumologic-sdk: {STEPS} passed, 1 failed")
        sys.exit(1)
    print(f"sumologic-sdk: {STEPS} passed, 0 failed")

"""Drives Muster's Logto Management API with the PyPI `logto-admin` client (generated from
Logto's OpenAPI document), as a Python integration pointed at Muster would. Its models parse
strictly: a 200 user body missing any key of Logto's user object raises, so every call below
checks the server's shapes as well as its answers. Run by .ci/logto; exits non-zero on the
first failure.

Environment: MUSTER_URL (http://127.0.0.1:PORT), LOGTO_CLIENT_ID, LOGTO_CLIENT_SECRET,
MUSTER_BACKEND (`sqlite` or `postgres`).
"""

import asyncio
import json
import os
import sys
import time
import traceback

import httpx
from logto_admin.client import AuthenticatedClient
from logto_admin.token_manager import TokenManager
from logto_admin.api.users import (
    delete_api_users_user_id,
    delete_api_users_user_id_identities_target,
    get_api_users,
    get_api_users_user_id,
    get_api_users_user_id_custom_data,
    get_api_users_user_id_has_password,
    patch_api_users_user_id,
    patch_api_users_user_id_custom_data,
    patch_api_users_user_id_is_suspended,
    patch_api_users_user_id_password,
    post_api_users,
    post_api_users_user_id_password_verify,
    put_api_users_user_id_identities_target,
)
from logto_admin.api.audit_logs import get_api_logs
from logto_admin.models import (
    GetApiLogsResponse200ItemPayloadResult,
    GetApiUsersResponse200Item,
    GetApiUsersUserIdResponse200,
    PatchApiUsersUserIdBody,
    PatchApiUsersUserIdBodyCustomData,
    PatchApiUsersUserIdCustomDataBody,
    PatchApiUsersUserIdCustomDataBodyCustomData,
    PatchApiUsersUserIdIsSuspendedBody,
    PatchApiUsersUserIdPasswordBody,
    PostApiUsersBody,
    PostApiUsersBodyCustomData,
    PostApiUsersBodyPasswordAlgorithm,
    PostApiUsersResponse200,
    PostApiUsersUserIdPasswordVerifyBody,
    PutApiUsersUserIdIdentitiesTargetBody,
    PutApiUsersUserIdIdentitiesTargetBodyDetails,
    PutApiUsersUserIdIdentitiesTargetResponse200,
)
from logto_admin.types import Unset

BASE = os.environ["MUSTER_URL"].rstrip("/")
CLIENT_ID = os.environ["LOGTO_CLIENT_ID"]
CLIENT_SECRET = os.environ["LOGTO_CLIENT_SECRET"]
BACKEND = os.environ.get("MUSTER_BACKEND", "sqlite")

# A fixed bcrypt hash (cost 4) of "Imported-pw-2", as an export from another system holds it.
IMPORTED_PASSWORD = "Imported-pw-2"
IMPORTED_BCRYPT = "$2b$04$efnIKObuxlYAiAfMPE880ukWCK8jUAZ6.BFx1QgS6FWOFzA8YyM8S"

passed = 0


def step(name):
    def run(fn):
        global passed
        try:
            fn()
        except Exception:  # noqa: BLE001 - report any failure with its step
            print(f"not ok {passed + 1} - {name}")
            traceback.print_exc(file=sys.stdout)
            print(f"logto-admin ({BACKEND}): {passed} passed, 1 failed")
            sys.exit(1)
        passed += 1
        print(f"ok {passed} - {name}")
        return fn

    return run


def expect(resp, status, what):
    assert resp.status_code == status, (
        f"{what}: expected HTTP {status}, got {int(resp.status_code)} {resp.content[:500]!r}"
    )


def expect_error(resp, status, code, what):
    expect(resp, status, what)
    body = json.loads(resp.content)
    assert body.get("code") == code, f"{what}: code {body!r}"
    assert isinstance(body.get("message"), str) and body["message"], f"{what}: message {body!r}"
    return body


def near_now_ms(v, what):
    assert isinstance(v, (int, float)) and abs(v - time.time() * 1000) < 86_400_000, (
        f"{what}: {v!r} is not epoch milliseconds near now"
    )


def check_user(u, what):
    """A parsed user model: the strict parsing already required every key; check types."""
    assert isinstance(u.id, str) and u.id, what
    assert isinstance(u.is_suspended, bool), what
    assert isinstance(u.has_password, bool), f"{what}: hasPassword present"
    near_now_ms(u.created_at, f"{what}.createdAt")
    near_now_ms(u.updated_at, f"{what}.updatedAt")
    for t, ident in u.identities.additional_properties.items():
        assert isinstance(ident.user_id, str), f"{what}: identities.{t}.userId"
    return u


# ---- token ----
token_info = asyncio.run(TokenManager(BASE, CLIENT_ID, CLIENT_SECRET).fetch_token_info())


@step("TokenManager.fetch_token_info: client_secret_basic, token_type Bearer, scope all")
def _():
    assert token_info["token_type"] == "Bearer", token_info
    assert isinstance(token_info["access_token"], str) and token_info["access_token"], token_info
    assert isinstance(token_info["expires_in"], int) and token_info["expires_in"] > 60, token_info
    assert token_info.get("scope") == "all", token_info


@step("TokenManager with a wrong secret raises HTTPStatusError (401, JSON body)")
def _():
    try:
        asyncio.run(TokenManager(BASE, CLIENT_ID, CLIENT_SECRET + "x").fetch_token_info())
    except httpx.HTTPStatusError as e:
        assert e.response.status_code == 401, e.response.status_code
    else:
        raise AssertionError("a wrong secret got a token")


client = AuthenticatedClient(
    base_url=BASE, token=token_info["access_token"], raise_on_unexpected_status=True
)
run = "p" + format(int(time.time() * 1000), "x")
P = f"py_{run}"
ids = {}


@step("post_api_users with password: 200 PostApiUsersResponse200")
def _():
    body = PostApiUsersBody(
        username=f"{P}_alice",
        primary_email=f"alice.{run}@example.com",
        name="Alice",
        password="Wonder-land-1",
        custom_data=PostApiUsersBodyCustomData.from_dict({"team": "wonder"}),
    )
    r = post_api_users.sync_detailed(client=client, body=body)
    expect(r, 200, "create alice")
    u = check_user(r.parsed, "create alice")
    assert isinstance(u, PostApiUsersResponse200)
    assert u.username == f"{P}_alice" and u.primary_email == f"alice.{run}@example.com"
    assert u.has_password is True and u.is_suspended is False
    assert u.custom_data.additional_properties == {"team": "wonder"}
    assert u.last_sign_in_at is None
    ids["alice"] = u.id


@step("post_api_users with an imported Bcrypt passwordDigest")
def _():
    body = PostApiUsersBody(
        username=f"{P}_bob",
        password_digest=IMPORTED_BCRYPT,
        password_algorithm=PostApiUsersBodyPasswordAlgorithm.BCRYPT,
    )
    r = post_api_users.sync_detailed(client=client, body=body)
    expect(r, 200, "create bob")
    u = check_user(r.parsed, "create bob")
    assert u.has_password is True
    assert "passwordDigest" not in u.additional_properties
    ids["bob"] = u.id
    for i in range(4):
        r = post_api_users.sync_detailed(client=client, body=PostApiUsersBody(username=f"{P}_extra{i}"))
        expect(r, 200, f"create extra {i}")


@step("get_api_users_user_id: GetApiUsersUserIdResponse200")
def _():
    r = get_api_users_user_id.sync_detailed(ids["alice"], client=client)
    expect(r, 200, "get alice")
    u = check_user(r.parsed, "get alice")
    assert isinstance(u, GetApiUsersUserIdResponse200)
    assert u.id == ids["alice"] and u.name == "Alice"
    assert isinstance(u.profile.given_name, Unset)


@step("get_api_users: pages of GetApiUsersResponse200Item until an empty page")
def _():
    seen = []
    page = 1
    total = None
    while True:
        r = get_api_users.sync_detailed(client=client, page=page, page_size=3)
        expect(r, 200, f"page {page}")
        assert "link" in r.headers, "Link header"
        t = int(r.headers["total-number"])
        total = t if total is None else total
        assert t == total, "Total-Number stable"
        for u in r.parsed:
            assert isinstance(u, GetApiUsersResponse200Item)
            check_user(u, f"page {page}")
        if not r.parsed:
            break
        seen.extend(u.id for u in r.parsed)
        page += 1
        assert page < 1000, "the walk ends"
    assert len(seen) == total == len(set(seen)), (len(seen), total)
    assert {ids["alice"], ids["bob"]} <= set(seen)
    r = get_api_users.sync_detailed(client=client, page=1, page_size=101)
    expect_error(r, 400, "guard.invalid_pagination", "page_size=101")
    assert r.parsed is None


@step("patch_api_users_user_id: partial update; customData replaced; null clears")
def _():
    body = PatchApiUsersUserIdBody(
        name="Alice Liddell",
        custom_data=PatchApiUsersUserIdBodyCustomData.from_dict({"team": "glass", "n": 1}),
        primary_email=None,
    )
    r = patch_api_users_user_id.sync_detailed(ids["alice"], client=client, body=body)
    expect(r, 200, "patch alice")
    u = check_user(r.parsed, "patch alice")
    assert u.name == "Alice Liddell" and u.username == f"{P}_alice"
    assert u.primary_email is None
    assert u.custom_data.additional_properties == {"team": "glass", "n": 1}
    r = patch_api_users_user_id.sync_detailed(
        ids["bob"], client=client, body=PatchApiUsersUserIdBody(username=f"{P}_alice")
    )
    expect_error(r, 422, "user.username_already_in_use", "rename bob to alice")
    r = post_api_users.sync_detailed(client=client, body=PostApiUsersBody(username=f"{P}_alice"))
    expect_error(r, 422, "user.username_already_in_use", "create a taken username")


@step("patch_api_users_user_id_password, post_api_users_user_id_password_verify (204 / 422)")
def _():
    verify = lambda uid, pw: post_api_users_user_id_password_verify.sync_detailed(  # noqa: E731
        uid, client=client, body=PostApiUsersUserIdPasswordVerifyBody(password=pw)
    )
    expect(verify(ids["alice"], "Wonder-land-1"), 204, "verify alice")
    r = patch_api_users_user_id_password.sync_detailed(
        ids["alice"], client=client, body=PatchApiUsersUserIdPasswordBody(password="Glass-2")
    )
    expect(r, 200, "set password")
    assert check_user(r.parsed, "set password").has_password is True
    expect(verify(ids["alice"], "Glass-2"), 204, "verify the new password")
    expect(verify(ids["alice"], "Wonder-land-1"), 422, "the old password fails")
    expect(verify(ids["bob"], IMPORTED_PASSWORD), 204, "verify the imported bcrypt digest")
    expect(verify(ids["bob"], IMPORTED_PASSWORD + "!"), 422, "imported digest, wrong password")
    r = get_api_users_user_id_has_password.sync_detailed(ids["bob"], client=client)
    expect(r, 200, "has-password")
    assert r.parsed.has_password is True


@step("patch_api_users_user_id_is_suspended: suspend and unsuspend")
def _():
    for flag in (True, False):
        r = patch_api_users_user_id_is_suspended.sync_detailed(
            ids["bob"], client=client, body=PatchApiUsersUserIdIsSuspendedBody(is_suspended=flag)
        )
        expect(r, 200, f"isSuspended={flag}")
        assert check_user(r.parsed, "suspend").is_suspended is flag
        g = get_api_users_user_id.sync_detailed(ids["bob"], client=client)
        assert g.parsed.is_suspended is flag


@step("put/delete_api_users_user_id_identities_target")
def _():
    body = PutApiUsersUserIdIdentitiesTargetBody(
        user_id="gh-1", details=PutApiUsersUserIdIdentitiesTargetBodyDetails.from_dict({"login": "alice"})
    )
    r = put_api_users_user_id_identities_target.sync_detailed(ids["alice"], "github", client=client, body=body)
    expect(r, 201, "a new identity")
    assert json.loads(r.content) == {"github": {"userId": "gh-1", "details": {"login": "alice"}}}
    body = PutApiUsersUserIdIdentitiesTargetBody(user_id="gh-2")
    r = put_api_users_user_id_identities_target.sync_detailed(ids["alice"], "github", client=client, body=body)
    expect(r, 200, "a replaced identity")
    assert isinstance(r.parsed, PutApiUsersUserIdIdentitiesTargetResponse200)
    assert r.parsed.additional_properties["github"].user_id == "gh-2"
    g = get_api_users_user_id.sync_detailed(ids["alice"], client=client)
    assert g.parsed.identities.additional_properties["github"].user_id == "gh-2"
    r = delete_api_users_user_id_identities_target.sync_detailed(ids["alice"], "github", client=client)
    expect(r, 200, "delete identity")
    assert check_user(r.parsed, "delete identity").identities.additional_properties == {}
    r = delete_api_users_user_id_identities_target.sync_detailed(ids["alice"], "github", client=client)
    expect_error(r, 404, "user.identity_not_exist", "delete it again")


@step("patch_api_users_user_id_custom_data merges")
def _():
    body = PatchApiUsersUserIdCustomDataBody(
        custom_data=PatchApiUsersUserIdCustomDataBodyCustomData.from_dict({"n": 2, "new": True})
    )
    r = patch_api_users_user_id_custom_data.sync_detailed(ids["alice"], client=client, body=body)
    expect(r, 200, "merge custom data")
    assert r.parsed.additional_properties == {"team": "glass", "n": 2, "new": True}
    r = get_api_users_user_id_custom_data.sync_detailed(ids["alice"], client=client)
    expect(r, 200, "get custom data")
    assert r.parsed.additional_properties == {"team": "glass", "n": 2, "new": True}


@step("audit_logs.get_api_logs(user_id=...): GetApiLogsResponse200Item")
def _():
    r = get_api_logs.sync_detailed(client=client, user_id=ids["alice"], page_size=100)
    expect(r, 200, "logs")
    assert int(r.headers["total-number"]) == len(r.parsed) > 0
    keys = set()
    for log in r.parsed:
        assert log.payload.result == GetApiLogsResponse200ItemPayloadResult.SUCCESS
        assert log.payload.key == log.key and log.payload.user_id == ids["alice"]
        near_now_ms(log.created_at, "log.createdAt")
        keys.add(log.key)
    assert {"User.Created", "User.Data.Updated"} <= keys, keys
    r = get_api_logs.sync_detailed(client=client, user_id=ids["bob"], log_key="User.SuspensionStatus.Updated")
    expect(r, 200, "logs by key")
    assert len(r.parsed) == 2, [x.key for x in r.parsed]


@step("delete_api_users_user_id: 204, then 404 entity.not_found")
def _():
    r = delete_api_users_user_id.sync_detailed(ids["bob"], client=client)
    expect(r, 204, "delete bob")
    assert r.content == b""
    r = get_api_users_user_id.sync_detailed(ids["bob"], client=client)
    body = expect_error(r, 404, "entity.not_found", "get deleted bob")
    assert body["message"] == "The resource does not exist.", body
    assert r.parsed is None


@step("401 bodies: missing header, bad token")
def _():
    anon = AuthenticatedClient(base_url=BASE, token="not-a-token")
    r = get_api_users.sync_detailed(client=anon)
    expect_error(r, 401, "auth.unauthorized", "bad token")
    r = httpx.get(f"{BASE}/api/users")
    expect_error(r, 401, "auth.authorization_header_missing", "no header")


print(f"logto-admin ({BACKEND}): {passed} passed, 0 failed")

"""The official Adobe UMAPI client (umapi-client 3.x, unmodified) against Muster.

    python umapi_check.py HOST:PORT ORG_ID CLIENT_ID CLIENT_SECRET PROFILE

Muster must speak HTTPS on HOST:PORT (the client hard-codes https for its token call) with a
certificate trusted through REQUESTS_CA_BUNDLE. PROFILE names a product profile that exists.
Each step is asserted; exits non-zero when any fails. Closing line: `umapi: N passed, M failed`.
"""

import sys
import traceback

import umapi_client
from umapi_client import (
    Connection,
    GroupAction,
    GroupsQuery,
    IdentityType,
    IfAlreadyExistsOption,
    UserAction,
    UserQuery,
    UsersQuery,
)
from umapi_client.auth import OAuthS2S

HOST, ORG, CLIENT_ID, SECRET, PROFILE = sys.argv[1:6]
ENDPOINT = f"https://{HOST}/v2/usermanagement"

passed = 0
failed = 0


def step(name):
    def wrap(fn):
        global passed, failed
        try:
            fn()
            passed += 1
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001 - every failure is reported and counted
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        return fn

    return wrap


def connect(test_mode=False):
    auth = OAuthS2S(CLIENT_ID, SECRET, auth_host=HOST)
    return Connection(ORG, auth, endpoint=ENDPOINT, test_mode=test_mode, max_retries=1)


conn = connect()
DOMAIN = "umapi.example"


def email(n):
    return f"user{n:03d}@{DOMAIN}"


def user(e):
    return UserQuery(conn, e).result()


@step("create users of each id type (federated, enterprise, Adobe)")
def _():
    fed = UserAction(user="fed@umapi.example").create(
        email="fed@umapi.example", firstname="Fern", lastname="Fed", country="US",
        id_type=IdentityType.federatedID)
    ent = UserAction(user="ent@umapi.example").create(
        email="ent@umapi.example", firstname="Ezra", lastname="Ent",
        id_type=IdentityType.enterpriseID)
    ado = UserAction(user="ado@other.example").create(
        email="ado@other.example", country="DE", id_type=IdentityType.adobeID)
    queued, sent, done = conn.execute_multiple([fed, ent, ado])
    assert (sent, done) == (3, 3), (queued, sent, done)
    got = user("FED@umapi.example")
    assert got["email"] == "fed@umapi.example", got
    assert got["type"] == "federatedID" and got["firstname"] == "Fern", got
    assert got["country"] == "US" and got["status"] == "active", got
    assert user("ent@umapi.example")["type"] == "enterpriseID"
    assert user("ado@other.example")["type"] == "adobeID"


@step("a duplicate create is reported for its command")
def _():
    dup = UserAction(user="fed@umapi.example").create(
        email="fed@umapi.example", firstname="F", lastname="F", country="US",
        on_conflict=IfAlreadyExistsOption.errorIfAlreadyExists)
    _, sent, done = conn.execute_single(dup, immediate=True)
    assert (sent, done) == (1, 0), (sent, done)
    errors = dup.execution_errors()
    assert len(errors) == 1, errors
    assert errors[0]["errorCode"] == "error.user.already_exists", errors
    assert "createFederatedID" in errors[0]["command"], errors


@step("update a user")
def _():
    a = UserAction(user="ent@umapi.example").update(firstname="Ezekiel", lastname="Entwistle")
    _, _, done = conn.execute_single(a, immediate=True)
    assert done == 1 and not a.execution_errors(), a.execution_errors()
    got = user("ent@umapi.example")
    assert (got["firstname"], got["lastname"]) == ("Ezekiel", "Entwistle"), got


@step("create user groups, give one a product profile")
def _():
    g1 = GroupAction(group_name="Umapi Designers").create(description="Design team")
    g2 = GroupAction(group_name="Umapi Temp").create()
    _, sent, done = conn.execute_multiple([g1, g2])
    assert (sent, done) == (2, 2), (sent, done)
    a = GroupAction(group_name="Umapi Designers").add_to_products([PROFILE])
    _, _, done = conn.execute_single(a, immediate=True)
    assert done == 1, a.execution_errors()
    groups = {g["groupName"]: g for g in GroupsQuery(conn).all_results()}
    assert groups["Umapi Designers"]["type"] == "USER_GROUP", groups
    assert groups[PROFILE]["type"] == "PRODUCT_PROFILE", groups
    assert "Umapi Temp" in groups, groups


@step("add to and remove from groups")
def _():
    a = UserAction(user="fed@umapi.example").add_to_groups(groups=["Umapi Designers", "Umapi Temp"])
    b = GroupAction(group_name="Umapi Designers").add_users(["ent@umapi.example"])
    _, _, done = conn.execute_multiple([a, b])
    assert done == 2, (a.execution_errors(), b.execution_errors())
    assert sorted(user("fed@umapi.example")["groups"]) == ["Umapi Designers", "Umapi Temp"]
    r = UserAction(user="fed@umapi.example").remove_from_groups(groups=["Umapi Temp"])
    _, _, done = conn.execute_single(r, immediate=True)
    assert done == 1, r.execution_errors()
    assert user("fed@umapi.example")["groups"] == ["Umapi Designers"]


@step("users in a group, directly and through a user group")
def _():
    members = sorted(u["email"] for u in UsersQuery(conn, in_group="Umapi Designers").all_results())
    assert members == ["ent@umapi.example", "fed@umapi.example"], members
    direct = list(UsersQuery(conn, in_group=PROFILE).all_results())
    assert direct == [], direct
    nested = sorted(u["email"] for u in
                    UsersQuery(conn, in_group=PROFILE, direct_only=False).all_results())
    assert nested == ["ent@umapi.example", "fed@umapi.example"], nested


@step("delete a user group")
def _():
    a = GroupAction(group_name="Umapi Temp").delete()
    _, _, done = conn.execute_single(a, immediate=True)
    assert done == 1, a.execution_errors()
    names = [g["groupName"] for g in GroupsQuery(conn).all_results()]
    assert "Umapi Temp" not in names, names


@step("UsersQuery pages to lastPage (more users than one page)")
def _():
    actions = [UserAction(user=email(n)).create(email=email(n), firstname="U", lastname=f"N{n}",
                                                country="US") for n in range(205)]
    _, sent, done = conn.execute_multiple(actions)
    assert (sent, done) == (205, 205), (sent, done)
    q = UsersQuery(conn, in_domain=DOMAIN)
    found = q.all_results()
    emails = {u["email"] for u in found}
    assert len(found) == 207 and len(emails) == 207, len(found)
    total, pages, size, page = q.stats()
    assert (total, pages, size) == (207, 2, 200), q.stats()
    everyone = UsersQuery(conn).all_results()
    assert len(everyone) == 208, len(everyone)


@step("a test_mode batch changes nothing")
def _():
    test_conn = connect(test_mode=True)
    a = UserAction(user="ent@umapi.example").update(firstname="Changed")
    b = UserAction(user="new@umapi.example").create(email="new@umapi.example", firstname="N",
                                                     lastname="N", country="US")
    c = UserAction(user="fed@umapi.example")
    c.remove_from_organization()
    _, sent, done = test_conn.execute_multiple([a, b, c])
    assert sent == 3, sent
    assert user("ent@umapi.example")["firstname"] == "Ezekiel"
    assert not user("new@umapi.example"), "test mode created a user"
    assert user("fed@umapi.example"), "test mode removed a user"


@step("a batch with one failing entry is partial")
def _():
    good = UserAction(user="ent@umapi.example").update(firstname="Zeke")
    bad = UserAction(user="ent@umapi.example").add_to_groups(groups=["No Such Group"])
    _, sent, done = conn.execute_multiple([good, bad])
    assert (sent, done) == (2, 1), (sent, done)
    errors = bad.execution_errors()
    assert [e["errorCode"] for e in errors] == ["error.group.not_found"], errors
    assert "No Such Group" in errors[0]["message"], errors
    assert not good.execution_errors()
    assert user("ent@umapi.example")["firstname"] == "Zeke"


@step("remove_from_organization")
def _():
    a = UserAction(user="fed@umapi.example")
    a.remove_from_organization(delete_account=True)
    _, _, done = conn.execute_single(a, immediate=True)
    assert done == 1, a.execution_errors()
    assert not user("fed@umapi.example"), "the user is still there"
    members = [u["email"] for u in UsersQuery(conn, in_group="Umapi Designers").all_results()]
    assert members == ["ent@umapi.example"], members


print(f"umapi ({umapi_client.__name__}): {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

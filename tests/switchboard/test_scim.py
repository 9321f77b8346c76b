"""The SCIM 2.0 service provider, driven the way Entra ID and Okta provision.

Every request goes through the embedded platform at /switchboard/scim/v2 with a directory
editor's bearer token, as a provisioning client's would.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.tenancy import TenantScope, tenant_scope
from switchboard.models import Contact, DirectorySource, Unit
from switchboard.operations.directory import create_contact
from switchboard.scim.resources import today

SCIM = "/switchboard/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class ScimClient:
    """A provisioning client: one bearer token, SCIM media type in and out."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = {**headers, "Accept": "application/scim+json"}

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(f"{SCIM}{path}", headers=self.headers, query_string=query)

    def send(self, method: str, path: str, body: Any, **headers: str) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.open(f"{SCIM}{path}", method=method, data=data,
                                headers={**self.headers, **headers,
                                         "Content-Type": "application/scim+json"})

    def post(self, path: str, body: Any) -> Any:
        return self.send("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.send("PUT", path, body)

    def patch(self, path: str, *operations: dict[str, Any]) -> Any:
        return self.send("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})

    def delete(self, path: str) -> Any:
        return self.client.delete(f"{SCIM}{path}", headers=self.headers)


def entra_user(user_name: str, external_id: str, *, mail: str | None = None,
               given: str = "Anna", family: str = "Andersson", department: str | None = None,
               **extra: Any) -> dict[str, Any]:
    """A user as Entra ID's default attribute mapping sends it; ``mail`` defaults to userName."""
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE], "externalId": external_id, "userName": user_name,
        "active": True, "displayName": f"{given} {family}",
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "emails": [{"primary": True, "type": "work", "value": mail or user_name}],
        "title": "Bygglovshandläggare",
        "phoneNumbers": [{"type": "work", "value": "090-16 10 00"},
                         {"type": "mobile", "value": "070-123 45 67"}],
        **extra,
    }
    if department:
        body[ENTERPRISE] = {"department": department, "employeeNumber": "4711"}
    return body


@pytest.fixture
def umea(client: Any, make_staff: Any) -> ScimClient:
    """Umeå's provisioning client."""
    return ScimClient(client, make_staff("scim-umea", "umea",
                                         ("directory_editor", "umea")).headers)


@pytest.fixture
def vannas(client: Any, make_staff: Any) -> ScimClient:
    """Vännäs's provisioning client."""
    return ScimClient(client, make_staff("scim-vannas", "vannas",
                                         ("directory_editor", "vannas")).headers)


def stored_contact(db: Session, municipality_id: Any, contact_id: str) -> Contact:
    """The contact as the database holds it now."""
    db.rollback()
    with tenant_scope(TenantScope.of([municipality_id])):
        contact = db.scalars(select(Contact).where(Contact.municipality_id == municipality_id,
                                                   Contact.id == _uuid(contact_id))).one()
        db.refresh(contact)
        _ = contact.numbers
    db.commit()
    return contact


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def test_entra_creates_a_user_and_finds_it_again_by_user_name(umea, db, municipalities):
    created = umea.post("/Users", entra_user("anna.andersson@umea.se", "e-1001",
                                             department="Bygglov"))

    assert created.status_code == 201, created.json
    assert created.headers["Content-Type"].startswith("application/scim+json")
    user = created.json
    assert created.headers["Location"] == user["meta"]["location"]
    assert user["meta"]["location"].endswith(f"/switchboard/scim/v2/Users/{user['id']}")
    assert created.headers["ETag"] == user["meta"]["version"]
    assert user["userName"] == "anna.andersson@umea.se"
    assert user["externalId"] == "e-1001"
    assert user["active"] is True
    assert user["phoneNumbers"] == [
        {"value": "+4690161000", "type": "work", "primary": True},
        {"value": "+46701234567", "type": "mobile", "primary": False},
    ]
    assert user[ENTERPRISE] == {"department": "Bygglov"}
    assert user["urn:samverkan:params:scim:schemas:extension:switchboard:1.0:Resource"] == {
        "municipality": "umea"}

    found = umea.get("/Users", filter='userName eq "Anna.Andersson@umea.se"')
    assert found.status_code == 200
    assert found.json["schemas"] == [LIST]
    assert found.json["totalResults"] == 1
    assert found.json["Resources"][0]["id"] == user["id"]
    assert umea.get("/Users", filter='userName eq "nobody@umea.se"').json["totalResults"] == 0

    contact = stored_contact(db, municipalities["umea"].id, user["id"])
    assert (contact.name, contact.given_name, contact.family_name, contact.email) == (
        "Anna Andersson", "Anna", "Andersson", "anna.andersson@umea.se")
    assert contact.external_id == "e-1001"
    with tenant_scope(TenantScope.of([municipalities["umea"].id])):
        source = db.get(DirectorySource, (contact.municipality_id, contact.source_id))
        unit = db.get(Unit, (contact.municipality_id, contact.unit_id))
        assert (source.kind, source.name) == ("scim", "SCIM")
        assert (unit.name, unit.level, unit.source_id) == ("Bygglov", "enhet", source.id)
    db.commit()


def test_a_second_post_of_the_same_external_id_is_a_uniqueness_conflict(umea):
    assert umea.post("/Users", entra_user("anna@umea.se", "e-1")).status_code == 201

    again = umea.post("/Users", entra_user("anna.a@umea.se", "e-1"))
    same_name = umea.post("/Users", entra_user("ANNA@umea.se", "e-2"))

    assert again.status_code == 409
    assert again.json["scimType"] == "uniqueness"
    assert same_name.status_code == 409
    assert umea.get("/Users").json["totalResults"] == 1


def test_a_user_name_that_is_not_the_work_email_is_kept_and_found_in_any_case(
        umea, db, municipalities):
    # Entra ID maps userName from userPrincipalName, which often is not the mail address
    body = entra_user("asa.lindqvist@umea.onmicrosoft.com", "e-11",
                      mail="asa.lindqvist@umea.se", given="Åsa", family="Lindqvist")

    created = umea.post("/Users", body)

    assert created.status_code == 201, created.json
    user = created.json
    assert user["userName"] == "asa.lindqvist@umea.onmicrosoft.com"
    assert user["emails"] == [{"value": "asa.lindqvist@umea.se", "type": "work",
                               "primary": True}]
    contact = stored_contact(db, municipalities["umea"].id, user["id"])
    assert (contact.account_name, contact.email) == ("asa.lindqvist@umea.onmicrosoft.com",
                                                     "asa.lindqvist@umea.se")

    def found(expression: str) -> list[str]:
        answer = umea.get("/Users", filter=expression)
        assert answer.status_code == 200, answer.json
        return [u["id"] for u in answer.json["Resources"]]

    assert found('userName eq "Asa.Lindqvist@UMEA.onmicrosoft.com"') == [user["id"]]
    assert found('userName eq "asa.lindqvist@umea.se"') == []
    assert found('emails[type eq "work" and value eq "ASA.LINDQVIST@umea.se"]') == [user["id"]]

    changed = {**body, "title": "Enhetschef"}
    first = umea.put(f"/Users/{user['id']}", changed)
    stored = stored_contact(db, municipalities["umea"].id, user["id"])
    second = umea.put(f"/Users/{user['id']}", changed)
    again = stored_contact(db, municipalities["umea"].id, user["id"])

    assert first.status_code == second.status_code == 200, second.json
    assert first.json == second.json
    assert first.json["userName"] == "asa.lindqvist@umea.onmicrosoft.com"
    assert second.headers["ETag"] == first.headers["ETag"]
    assert again.updated_at == stored.updated_at
    assert (again.account_name, again.email, again.title) == (
        "asa.lindqvist@umea.onmicrosoft.com", "asa.lindqvist@umea.se", "Enhetschef")


def test_a_taken_user_name_is_a_uniqueness_conflict_whatever_its_case_or_email(umea):
    asa = umea.post("/Users", entra_user("asa.lindqvist@umea.onmicrosoft.com", "e-11",
                                         mail="asa.lindqvist@umea.se")).json
    other = umea.post("/Users", entra_user("alindqvist", "e-12", mail="a.lindqvist@umea.se"))
    assert other.status_code == 201, other.json

    same = umea.post("/Users", entra_user("ASA.Lindqvist@umea.onmicrosoft.com", "e-13",
                                          mail="asa.l@umea.se"))
    renamed = umea.put(f"/Users/{other.json['id']}",
                       entra_user("Asa.Lindqvist@umea.onmicrosoft.com", "e-12",
                                  mail="a.lindqvist@umea.se"))

    for answer in (same, renamed):
        assert answer.status_code == 409, answer.json
        assert answer.json["schemas"] == [ERROR]
        assert answer.json["scimType"] == "uniqueness"
    assert umea.get("/Users").json["totalResults"] == 2
    assert umea.get(f"/Users/{other.json['id']}").json["userName"] == "alindqvist"
    assert umea.get(f"/Users/{asa['id']}").json["userName"] == (
        "asa.lindqvist@umea.onmicrosoft.com")


def test_two_requests_racing_with_one_user_name_get_one_user_and_a_scim_409(
        umea, monkeypatch):
    from switchboard.scim import users

    assert umea.post("/Users", entra_user("bo.berg@umea.onmicrosoft.com", "e-21",
                                          mail="bo.berg@umea.se")).status_code == 201
    # The second request checked before the first one's row was committed: it saw nothing.
    monkeypatch.setattr(users, "_check_unique", lambda *_args: None)

    racing = umea.post("/Users", entra_user("bo.berg@umea.onmicrosoft.com", "e-22",
                                            mail="bo.b@umea.se"))

    assert racing.status_code == 409, racing.json
    assert racing.headers["Content-Type"].startswith("application/scim+json")
    assert racing.json["schemas"] == [ERROR]
    assert racing.json["scimType"] == "uniqueness"
    monkeypatch.undo()
    assert umea.get("/Users").json["totalResults"] == 1


def test_a_user_without_external_id_is_matched_on_our_id(umea, db, municipalities):
    body = entra_user("bo@umea.se", "unused")
    del body["externalId"]
    user = umea.post("/Users", body).json

    assert "externalId" not in user
    contact = stored_contact(db, municipalities["umea"].id, user["id"])
    assert contact.external_id == user["id"]
    assert umea.get("/Users", filter=f'externalId eq "{user["id"]}"').json["totalResults"] == 0


def test_patch_replace_active_false_marks_the_user_as_left_and_keeps_them_findable(
        umea, db, municipalities):
    user = umea.post("/Users", entra_user("cecilia@umea.se", "e-3")).json

    # Entra ID's casing and its string for a boolean
    left = umea.patch(f"/Users/{user['id']}", {"op": "Replace", "path": "active",
                                               "value": "False"})

    assert left.status_code == 200, left.json
    assert left.json["active"] is False
    contact = stored_contact(db, municipalities["umea"].id, user["id"])
    assert contact.left_on == today()
    assert umea.get(f"/Users/{user['id']}").json["active"] is False
    inactive = umea.get("/Users", filter="active eq false")
    assert [u["id"] for u in inactive.json["Resources"]] == [user["id"]]

    back = umea.patch(f"/Users/{user['id']}", {"op": "replace", "value": {"active": True}})
    assert back.json["active"] is True
    assert stored_contact(db, municipalities["umea"].id, user["id"]).left_on is None


def test_delete_marks_the_user_as_left(umea, db, municipalities):
    user = umea.post("/Users", entra_user("david@umea.se", "e-4")).json

    deleted = umea.delete(f"/Users/{user['id']}")

    assert deleted.status_code == 204
    assert stored_contact(db, municipalities["umea"].id, user["id"]).left_on is not None
    assert umea.get(f"/Users/{user['id']}").json["active"] is False


def test_patch_paths_with_value_filters_and_the_enterprise_extension(umea, db, municipalities):
    user = umea.post("/Users", entra_user("erik@umea.se", "e-5")).json

    changed = umea.patch(
        f"/Users/{user['id']}",
        {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "070-999 88 77"},
        {"op": "Add", "path": 'phoneNumbers[type eq "fax"].value', "value": "090-16 10 99"},
        {"op": "Replace", "path": "name.givenName", "value": "Eric"},
        {"op": "Replace", "path": "displayName", "value": "Eric Andersson"},
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Miljö"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "7"},
        {"op": "Remove", "path": "title"},
        {"op": "Add", "path": 'addresses[type eq "work"].streetAddress', "value": "Skolgatan"},
    )

    assert changed.status_code == 200, changed.json
    assert changed.json["name"]["givenName"] == "Eric"
    assert changed.json["displayName"] == "Eric Andersson"
    assert changed.json[ENTERPRISE] == {"department": "Miljö"}
    assert "title" not in changed.json
    assert {(p["type"], p["value"]) for p in changed.json["phoneNumbers"]} == {
        ("work", "+4690161000"), ("mobile", "+46709998877"), ("fax", "+4690161099")}
    contact = stored_contact(db, municipalities["umea"].id, user["id"])
    assert (contact.name, contact.title) == ("Eric Andersson", "")

    email = umea.patch(f"/Users/{user['id']}",
                       {"op": "replace", "path": 'emails[type eq "work"].value',
                        "value": "erik.a@umea.se"},
                       {"op": "replace", "path": "userName", "value": "erik.a@umea.se"})
    assert email.json["userName"] == "erik.a@umea.se"
    removed = umea.patch(f"/Users/{user['id']}",
                         {"op": "remove", "path": 'phoneNumbers[type eq "fax"]'})
    assert [p["type"] for p in removed.json["phoneNumbers"]] == ["work", "mobile"]


def test_a_bad_phone_number_is_refused_naming_the_attribute(umea):
    user = umea.post("/Users", entra_user("frida@umea.se", "e-6")).json

    refused = umea.patch(f"/Users/{user['id']}", {"op": "replace",
                                                  "path": 'phoneNumbers[type eq "work"].value',
                                                  "value": "not a number"})
    created = umea.post("/Users", entra_user(
        "gustav@umea.se", "e-7", phoneNumbers=[{"type": "mobile", "value": "12"}]))

    assert refused.status_code == 400
    assert refused.json["scimType"] == "invalidValue"
    assert 'phoneNumbers[type eq "work"].value' in refused.json["detail"]
    assert created.status_code == 400
    assert 'phoneNumbers[type eq "mobile"].value' in created.json["detail"]
    assert umea.get("/Users").json["totalResults"] == 1


def test_running_the_same_put_twice_changes_nothing(umea, db, municipalities):
    user = umea.post("/Users", entra_user("helena@umea.se", "e-8")).json
    body = entra_user("helena@umea.se", "e-8", given="Helena", family="Holm",
                      department="Kultur", nickName="Lena")

    first = umea.put(f"/Users/{user['id']}", body)
    stored = stored_contact(db, municipalities["umea"].id, user["id"])
    second = umea.put(f"/Users/{user['id']}", body)
    again = stored_contact(db, municipalities["umea"].id, user["id"])

    assert first.status_code == second.status_code == 200
    assert first.json == second.json
    assert first.json["nickName"] == "Lena"
    assert again.updated_at == stored.updated_at
    assert second.headers["ETag"] == first.headers["ETag"]
    with tenant_scope(TenantScope.of([municipalities["umea"].id])):
        assert db.scalars(select(Unit.name)).all() == ["Kultur"]
    db.commit()


def test_a_stale_if_match_is_refused(umea):
    user = umea.post("/Users", entra_user("ida@umea.se", "e-9")).json

    stale = umea.send("PATCH", f"/Users/{user['id']}",
                      {"schemas": [PATCH_OP],
                       "Operations": [{"op": "replace", "path": "title", "value": "Chef"}]},
                      **{"If-Match": 'W/"1"'})

    assert stale.status_code == 412
    assert umea.get(f"/Users/{user['id']}").json["title"] == "Bygglovshandläggare"


def test_filters_combine_with_and_or_not_and_parentheses(umea):
    for number, (given, family) in enumerate([("Anna", "Berg"), ("Anders", "Berg"),
                                              ("Åsa", "Lind"), ("Bo", "Nilsson")]):
        umea.post("/Users", entra_user(f"{given.lower()}.{family.lower()}@umea.se",
                                       f"e-{number}", given=given, family=family))

    def names(expression: str) -> list[str]:
        answer = umea.get("/Users", filter=expression)
        assert answer.status_code == 200, answer.json
        return sorted(u["displayName"] for u in answer.json["Resources"])

    assert names('name.familyName eq "berg" and not (name.givenName sw "Ande")') == [
        "Anna Berg"]
    assert names('(name.givenName eq "Bo" or name.familyName eq "Lind") and active eq true'
                 ) == ["Bo Nilsson", "Åsa Lind"]
    assert names('displayName co " BERG"') == ["Anders Berg", "Anna Berg"]
    assert names('emails[type eq "work" and value ew "lind@umea.se"]') == ["Åsa Lind"]
    assert names('emails.value sw "bo."') == ["Bo Nilsson"]
    assert names('title pr and meta.lastModified gt "2000-01-01T00:00:00Z"') == [
        "Anders Berg", "Anna Berg", "Bo Nilsson", "Åsa Lind"]
    assert names('externalId eq "e-2"') == ["Åsa Lind"]
    assert names(f'{USER}:userName eq "anna.berg@umea.se"') == ["Anna Berg"]


def test_paging_over_more_than_25_users(umea):
    for number in range(27):
        assert umea.post("/Users", entra_user(f"person{number}@umea.se", f"p-{number}")
                         ).status_code == 201

    seen: list[str] = []
    start = 1
    while True:
        page = umea.get("/Users", startIndex=start, count=10).json
        assert page["totalResults"] == 27
        assert page["startIndex"] == start
        seen += [u["id"] for u in page["Resources"]]
        if page["itemsPerPage"] < 10:
            break
        start += 10

    assert len(seen) == len(set(seen)) == 27
    assert umea.get("/Users", count=0).json == {"schemas": [LIST], "totalResults": 27,
                                                "itemsPerPage": 0, "startIndex": 1,
                                                "Resources": []}
    assert umea.get("/Users", startIndex=30).json["Resources"] == []


def test_listing_a_page_takes_the_same_queries_for_3_users_as_for_30(umea, count_queries):
    def queries_for_a_page() -> int:
        with count_queries() as statements:
            assert umea.get("/Users").status_code == 200
        return len(statements)

    for number in range(3):
        umea.post("/Users", entra_user(f"a{number}@umea.se", f"a-{number}",
                                       department=f"Enhet {number}"))
    few = queries_for_a_page()
    for number in range(27):
        umea.post("/Users", entra_user(f"b{number}@umea.se", f"b-{number}",
                                       department=f"Enhet {number}"))

    assert queries_for_a_page() == few


def test_groups_are_units_and_membership_places_people(umea, db, municipalities):
    anna = umea.post("/Users", entra_user("anna@umea.se", "e-1")).json
    bo = umea.post("/Users", entra_user("bo@umea.se", "e-2", given="Bo")).json
    created = umea.post("/Groups", {"schemas": [GROUP], "displayName": "Kundtjänst",
                                    "externalId": "g-1", "members": [{"value": anna["id"]}]})
    assert created.status_code == 201, created.json
    group = created.json
    assert [m["value"] for m in group["members"]] == [anna["id"]]

    added = umea.patch(f"/Groups/{group['id']}", {"op": "Add", "path": "members",
                                                  "value": [{"value": bo["id"]}]})
    assert sorted(m["value"] for m in added.json["members"]) == sorted([anna["id"], bo["id"]])
    assert stored_contact(db, municipalities["umea"].id, bo["id"]).unit_id == _uuid(group["id"])
    assert umea.get(f"/Users/{bo['id']}").json[ENTERPRISE] == {"department": "Kundtjänst"}

    removed = umea.patch(f"/Groups/{group['id']}",
                         {"op": "Remove", "path": f'members[value eq "{anna["id"]}"]'})
    assert [m["value"] for m in removed.json["members"]] == [bo["id"]]
    assert stored_contact(db, municipalities["umea"].id, anna["id"]).unit_id is None

    found = umea.get("/Groups", filter='displayName eq "kundtjänst"', excludedAttributes="members")
    assert found.json["totalResults"] == 1
    assert "members" not in found.json["Resources"][0]
    member_of = umea.get("/Groups", filter=f'members[value eq "{bo["id"]}"]')
    assert [g["id"] for g in member_of.json["Resources"]] == [group["id"]]

    # Okta's way: remove with a value list instead of a value filter
    umea.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members",
                                          "value": [{"value": anna["id"]}]})
    okta = umea.patch(f"/Groups/{group['id']}", {"op": "remove", "path": "members",
                                                 "value": [{"value": anna["id"]}]})
    assert [m["value"] for m in okta.json["members"]] == [bo["id"]]

    renamed = umea.patch(f"/Groups/{group['id']}", {"op": "replace",
                                                    "value": {"displayName": "Kontaktcenter"}})
    assert renamed.json["displayName"] == "Kontaktcenter"
    assert umea.delete(f"/Groups/{group['id']}").status_code == 204
    assert umea.get(f"/Groups/{group['id']}").status_code == 404
    assert stored_contact(db, municipalities["umea"].id, bo["id"]).unit_id is None


def test_adding_someone_elses_user_to_a_group_is_refused(umea, vannas):
    theirs = vannas.post("/Users", entra_user("olle@vannas.se", "v-1")).json
    group = umea.post("/Groups", {"schemas": [GROUP], "displayName": "Växeln"}).json

    refused = umea.patch(f"/Groups/{group['id']}", {"op": "add", "path": "members",
                                                    "value": [{"value": theirs["id"]}]})

    assert refused.status_code == 400
    assert refused.json["scimType"] == "invalidValue"
    assert umea.get(f"/Groups/{group['id']}").json["members"] == []


def test_discovery_documents(umea, client):
    config = client.get(f"{SCIM}/ServiceProviderConfig")
    assert config.status_code == 200
    assert config.headers["Content-Type"].startswith("application/scim+json")
    assert config.json["patch"] == {"supported": True}
    assert config.json["filter"]["supported"] is True
    assert config.json["bulk"]["supported"] is False
    assert config.json["authenticationSchemes"][0]["type"] == "oauthbearertoken"

    schemas = umea.get("/Schemas").json
    assert {s["id"] for s in schemas["Resources"]} >= {USER, GROUP, ENTERPRISE}
    user_schema = umea.get(f"/Schemas/{USER}").json
    user_name = next(a for a in user_schema["attributes"] if a["name"] == "userName")
    assert (user_name["required"], user_name["uniqueness"]) == (True, "server")
    assert umea.get("/Schemas/urn:nothing").status_code == 404

    types = umea.get("/ResourceTypes").json
    assert {t["name"]: t["endpoint"] for t in types["Resources"]} == {
        "User": "/Users", "Group": "/Groups"}
    user_type = umea.get("/ResourceTypes/User").json
    assert user_type["schema"] == USER
    assert {"schema": ENTERPRISE, "required": False} in user_type["schemaExtensions"]


@pytest.mark.parametrize(("query", "problem"), [
    ('userName eq', "invalidFilter"), ('userName xx "a"', "invalidFilter"),
    ('(userName eq "a"', "invalidFilter"), ('nickName eq "a"', "invalidFilter"),
    ('userName eq "unterminated', "invalidFilter"), ('urn:foo:bar eq "a"', "invalidFilter"),
])
def test_bad_filters_are_400_invalid_filter(umea, query, problem):
    answer = umea.get("/Users", filter=query)

    assert answer.status_code == 400
    assert answer.json["schemas"] == [ERROR]
    assert answer.json["status"] == "400"
    assert answer.json["scimType"] == problem


def test_errors_answer_in_scim_form(umea):
    user = umea.post("/Users", entra_user("jan@umea.se", "e-1")).json
    cases = {
        "unknown id": umea.get("/Users/0190aaaa-0000-7000-8000-000000000000"),
        "not an id": umea.get("/Users/not-a-uuid"),
        "unknown path": umea.get("/Nothing"),
        "wrong method": umea.send("PUT", "/Users", {}),
        "malformed json": umea.send("POST", "/Users", "{not json"),
        "not an object": umea.post("/Users", [1, 2]),
        "no userName": umea.post("/Users", {"schemas": [USER]}),
        "bad active": umea.post("/Users", entra_user("k@umea.se", "e-2", active="maybe")),
        "unknown attribute": umea.patch(f"/Users/{user['id']}",
                                        {"op": "replace", "path": "shoeSize", "value": 44}),
        "bad op": umea.patch(f"/Users/{user['id']}", {"op": "move", "path": "title"}),
        "not a patch": umea.send("PATCH", f"/Users/{user['id']}", {"Operations": []}),
        "bad count": umea.get("/Users", count="many"),
        "too long": umea.post("/Users", entra_user("l@umea.se", "e-3", title="x" * 201)),
        "nul": umea.post("/Users", entra_user("m@umea.se", "e-\x00")),
        "bad email": umea.post("/Users", entra_user("n@umea.se", "e-4", mail="not an address")),
    }
    expected = {"unknown id": 404, "not an id": 404, "unknown path": 404, "wrong method": 405,
                "malformed json": 400, "not an object": 400, "no userName": 400,
                "bad active": 400, "unknown attribute": 400, "bad op": 400,
                "not a patch": 400, "bad count": 400, "too long": 400, "nul": 400,
                "bad email": 400}

    for case, answer in cases.items():
        assert answer.status_code == expected[case], (case, answer.data)
        assert answer.headers["Content-Type"].startswith("application/scim+json"), case
        assert answer.json["schemas"] == [ERROR], case
        assert answer.json["status"] == str(expected[case]), case
    assert cases["unknown attribute"].json["scimType"] == "invalidPath"
    assert cases["malformed json"].json["scimType"] == "invalidSyntax"


def test_tokens_must_belong_to_a_directory_editor(client, make_staff):
    operator = ScimClient(client, make_staff("op", "bjurholm", ("operator", None)).headers)
    anonymous = ScimClient(client, {})
    wrong = ScimClient(client, {"Authorization": "Bearer svk_nonsense"})

    forbidden = operator.post("/Users", entra_user("x@umea.se", "x"))
    listed = operator.get("/Users")

    assert forbidden.status_code == 403
    assert forbidden.json["schemas"] == [ERROR]
    assert listed.status_code == 403
    for answer in (anonymous.get("/Users"), wrong.get("/Users")):
        assert answer.status_code == 401
        assert answer.json["schemas"] == [ERROR]
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_editor_of_another_municipality_is_refused(client, make_staff):
    elsewhere = ScimClient(client, make_staff("ed", "vannas", ("directory_editor", "umea")
                                              ).headers)

    assert elsewhere.post("/Users", entra_user("x@umea.se", "x")).status_code == 403


def test_vannas_cannot_see_or_change_umeas_users(umea, vannas, db, municipalities):
    anna = umea.post("/Users", entra_user("anna@umea.se", "e-1")).json
    before = stored_contact(db, municipalities["umea"].id, anna["id"])

    answers = [
        vannas.get(f"/Users/{anna['id']}"),
        vannas.put(f"/Users/{anna['id']}", entra_user("anna@umea.se", "e-1", given="Hacked")),
        vannas.patch(f"/Users/{anna['id']}", {"op": "replace", "path": "active",
                                              "value": False}),
        vannas.delete(f"/Users/{anna['id']}"),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all(a.json["schemas"] == [ERROR] for a in answers)
    assert vannas.get("/Users").json["totalResults"] == 0
    assert vannas.get("/Users", filter='userName eq "anna@umea.se"').json["totalResults"] == 0
    after = stored_contact(db, municipalities["umea"].id, anna["id"])
    assert (after.name, after.left_on, after.updated_at) == (before.name, None,
                                                             before.updated_at)


def test_records_land_in_the_tokens_municipality_whatever_the_body_says(
        vannas, db, municipalities):
    body = entra_user("olle@vannas.se", "v-1", municipality="umea")
    body["urn:samverkan:params:scim:schemas:extension:switchboard:1.0:Resource"] = {
        "municipality": "umea"}

    created = vannas.post("/Users", body)

    assert created.status_code == 201
    assert created.json["urn:samverkan:params:scim:schemas:extension:switchboard:1.0:Resource"
                        ] == {"municipality": "vannas"}
    contact = stored_contact(db, municipalities["vannas"].id, created.json["id"])
    assert contact.municipality_id == municipalities["vannas"].id


def test_contacts_from_other_sources_are_not_scim_users(umea, db, municipalities):
    umea_id = municipalities["umea"].id
    with tenant_scope(TenantScope.of([umea_id])):
        hr = create_contact(db, name="Hr Person", email="hr@umea.se", municipality_id=umea_id)
        db.commit()

    assert umea.get("/Users").json["totalResults"] == 0
    assert umea.get(f"/Users/{hr.id}").status_code == 404
    assert umea.patch(f"/Users/{hr.id}", {"op": "replace", "path": "active",
                                          "value": False}).status_code == 404

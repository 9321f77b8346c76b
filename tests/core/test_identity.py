"""Logging in, tokens, CSRF, rate limits, headers: identity as people and scripts meet it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.test import Client

from services import clock
from services.audit.models import AuditEntry
from services.config import ConfigurationError, load_settings
from services.identity.models import ApiToken
from services.identity.passwords import hash_secret, verify_secret
from services.tenancy import TenantScope, tenant_scope
from tests.support.addresses import unseen_address

PASSWORD = "correct horse battery"


def csrf_from(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client: Client, username: str, password: str = PASSWORD, next_url: str = "/"):
    page = client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password,
                                       "next": next_url, "csrf_token": csrf_from(page)})


def test_passwords_are_stored_as_argon2id_hashes():
    stored = hash_secret(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert verify_secret(stored, PASSWORD)
    assert not verify_secret(stored, "wrong")
    assert not verify_secret(None, PASSWORD)


def test_web_login_sets_a_session_that_pages_and_the_api_accept(client, make_staff):
    make_staff("lena", "vindeln", ("caseworker", "vindeln"))
    reply = log_in(client, "lena", next_url="/refugee-reception/")
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith("/refugee-reception/")
    cookie = reply.headers.getlist("Set-Cookie")
    assert any("samverkan_session=" in c and "HttpOnly" in c and "SameSite=Lax" in c
               for c in cookie)
    assert client.get("/api/me").json["municipality"] == "vindeln"
    page = client.get("/refugee-reception/", headers={"Accept": "text/html"})
    assert "lena" in page.get_data(as_text=True)


def test_logging_out_revokes_the_session_everywhere(client, make_staff):
    make_staff("lena", "vindeln", ("caseworker", "vindeln"))
    log_in(client, "lena")
    stolen = client.get_cookie("samverkan_session").value
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 303
    thief = Client(client.application)
    thief.set_cookie("samverkan_session", stolen)
    assert thief.get("/api/me").status_code == 401


def test_a_form_post_without_the_csrf_token_is_refused(client, make_staff):
    make_staff("lena", "vindeln", ("caseworker", "vindeln"))
    reply = client.post("/login", data={"username": "lena", "password": PASSWORD})
    assert reply.status_code == 400
    assert "CSRF" in reply.json["error"]["message"]


def test_a_wrong_password_keeps_the_username_and_says_what_went_wrong(client, make_staff):
    make_staff("lena", "vindeln", ("caseworker", "vindeln"))
    reply = log_in(client, "lena", password="not it at all")
    assert reply.status_code == 401
    page = reply.get_data(as_text=True)
    assert 'role="alert"' in page and 'value="lena"' in page
    assert client.get("/api/me").status_code == 401


def test_the_login_page_never_redirects_to_another_site(client, make_staff):
    make_staff("lena", "vindeln", ("caseworker", "vindeln"))
    reply = log_in(client, "lena", next_url="//evil.example/steal")
    assert reply.headers["Location"] in ("/", "http://localhost/")


def test_a_revoked_token_stops_working_at_once(client, make_staff):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    tokens = client.get("/api/tokens", headers=staff.headers).json
    assert len(tokens) == 1 and "token" not in tokens[0]
    reply = client.delete(f"/api/tokens/{tokens[0]['id']}", headers=staff.headers)
    assert reply.status_code == 204
    after = client.get("/api/me", headers=staff.headers)
    assert after.status_code == 401
    assert after.json["error"]["message"] == "The bearer token is unknown, revoked or expired."


def test_an_expired_token_is_refused(client, db, make_staff):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    token = db.scalars(select(ApiToken).where(ApiToken.user_id == staff.user.id)).one()
    token.expires_at = clock.now() - timedelta(seconds=1)
    db.commit()
    assert client.get("/api/me", headers=staff.headers).status_code == 401


def test_tokens_are_stored_only_as_hashes(db, make_staff):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    stored = db.scalars(select(ApiToken.token_hash)).one()
    assert staff.token not in stored and len(stored) == 64


def test_a_malformed_authorization_header_is_a_401_not_anonymous(client):
    reply = client.get("/api/municipalities", headers={"Authorization": "Basic abc"})
    assert reply.status_code == 401


def test_nobody_can_revoke_someone_elses_token(client, make_staff):
    owner = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    other = make_staff("stina", "nordmaling", ("municipality_admin", "nordmaling"))
    token_id = client.get("/api/tokens", headers=owner.headers).json[0]["id"]
    assert client.delete(f"/api/tokens/{token_id}", headers=other.headers).status_code == 404
    assert client.get("/api/me", headers=owner.headers).status_code == 200


def test_creating_and_revoking_tokens_is_audited_for_the_home_municipality(
    client, db, make_staff, municipalities
):
    make_staff("stina", "vannas", ("municipality_admin", "vannas"))
    issued = client.post("/api/tokens", json={"username": "stina", "password": PASSWORD,
                                              "label": "backup script"})
    headers = {"Authorization": f"Bearer {issued.json['token']}"}
    client.delete(f"/api/tokens/{issued.json['id']}", headers=headers)
    with tenant_scope(TenantScope.of([municipalities["vannas"].id])):
        actions = db.scalars(select(AuditEntry.action).where(
            AuditEntry.subject == "backup script")).all()
    assert sorted(actions) == ["token.created", "token.revoked"]


def test_the_audit_log_api_shows_only_your_own_municipality(client, make_staff):
    admin = make_staff("stina", "vannas", ("municipality_admin", "vannas"))
    make_staff("per", "umea", ("librarian", "umea"))
    entries = client.get("/api/audit", headers=admin.headers).json["results"]
    assert entries and {e["municipality"] for e in entries} == {"vannas"}
    assert "per" not in {e["subject"] for e in entries}


def test_the_audit_log_pages_with_a_cursor(client, make_staff):
    admin = make_staff("stina", "vannas", ("municipality_admin", "vannas"))
    first = client.get("/api/audit?limit=1", headers=admin.headers).json
    second = client.get(f"/api/audit?limit=1&before={first['next']}",
                        headers=admin.headers).json
    assert first["results"][0]["id"] != second["results"][0]["id"]
    assert second["results"][0]["id"] < first["results"][0]["id"]


def test_login_attempts_are_rate_limited(migrated, make_staff):
    from services.embedded import create_embedded_app

    username = f"lena-{uuid.uuid4().hex[:8]}"  # keys no earlier run has counted
    make_staff(username, "vindeln", ("caseworker", "vindeln"))
    caller = {"X-Forwarded-For": unseen_address()}
    strict = migrated.with_overrides(login_rate_limit="3 per minute")
    client = Client(create_embedded_app(strict))
    replies = [client.post("/api/tokens", json={"username": username, "password": "guess"},
                           headers=caller) for _ in range(4)]
    assert [r.status_code for r in replies] == [401, 401, 401, 429]
    assert replies[-1].json["error"]["code"] == "too_many_requests"
    assert "Retry-After" in replies[-1].headers


def test_wrong_passwords_on_the_login_form_are_rate_limited_too(migrated, make_staff):
    from services.embedded import create_embedded_app

    username = f"lena-{uuid.uuid4().hex[:8]}"  # keys no earlier run has counted
    make_staff(username, "vindeln", ("caseworker", "vindeln"))
    browser = {"X-Forwarded-For": unseen_address(),
               "Accept": "text/html"}
    strict = migrated.with_overrides(login_rate_limit="3 per minute")
    client = Client(create_embedded_app(strict))
    page = client.get("/login", headers=browser).get_data(as_text=True)
    form = {"username": username, "password": "guess", "csrf_token": csrf_from(page)}
    replies = [client.post("/login", data=form, headers=browser) for _ in range(4)]
    assert [r.status_code for r in replies] == [401, 401, 401, 429]
    assert int(replies[-1].headers["Retry-After"]) >= 1
    assert "För många försök" in replies[-1].get_data(as_text=True)
    right = client.post("/login", data={**form, "password": PASSWORD}, headers=browser)
    assert right.status_code == 429  # not even the right password gets through now
    assert client.get("/api/me").status_code == 401


def test_every_response_carries_security_headers_and_a_request_id(client):
    reply = client.get("/", headers={"X-Request-Id": "abc123"})
    assert reply.headers["X-Request-Id"] == "abc123"
    assert "default-src 'self'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["X-Frame-Options"] == "DENY"


def test_production_refuses_the_development_secret_key():
    with pytest.raises(ConfigurationError, match="secret key"):
        load_settings({"SAMVERKAN_ENVIRONMENT": "production",
                       "SAMVERKAN_DATABASE_URL": "postgresql+psycopg://app@db/samverkan"})
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        load_settings({"SAMVERKAN_ENVIRONMENT": "production", "SAMVERKAN_SECRET_KEY": "x" * 40})
    ready = load_settings({"SAMVERKAN_ENVIRONMENT": "production", "SAMVERKAN_SECRET_KEY": "x" * 40,
                           "SAMVERKAN_DATABASE_URL": "postgresql+psycopg://app@db/samverkan"})
    assert ready.is_production


def test_a_bad_setting_names_the_variable():
    with pytest.raises(ConfigurationError, match="SAMVERKAN_TOKEN_LIFETIME_DAYS"):
        load_settings({"SAMVERKAN_TOKEN_LIFETIME_DAYS": "ninety"})

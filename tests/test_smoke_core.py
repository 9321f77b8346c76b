"""The platform answers: health, readiness, OpenAPI, tokens and the error format."""

from __future__ import annotations

import pytest
from werkzeug.test import Client

SERVICE_PREFIXES = ["", "/switchboard", "/library", "/refugee-reception", "/procurement"]


@pytest.mark.parametrize("prefix", SERVICE_PREFIXES)
def test_every_service_is_healthy_ready_and_documented(client, prefix):
    assert client.get(f"{prefix}/healthz").json["status"] == "ok"
    ready = client.get(f"{prefix}/readyz")
    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["database"]["ok"] and ready.json["checks"]["broker"]["ok"]
    spec = client.get(f"{prefix}/openapi.json")
    assert spec.status_code == 200
    assert spec.json["openapi"].startswith("3.")
    docs = client.get(f"{prefix}/api/docs", headers={"Accept": "text/html"})
    assert docs.status_code == 200
    assert "/healthz" in docs.get_data(as_text=True)


def test_a_token_from_username_and_password_authenticates_the_api(client, make_staff):
    make_staff("anna", "umea", ("librarian", "umea"))
    issued = client.post("/api/tokens", json={"username": "anna",
                                              "password": "correct horse battery"})
    assert issued.status_code == 201
    me = client.get("/api/me", headers={"Authorization": f"Bearer {issued.json['token']}"})
    assert me.json["municipality"] == "umea"
    assert me.json["grants"] == [{"role": "librarian", "scope": "umea"}]


def test_a_missing_field_is_named_in_a_422(client):
    reply = client.post("/api/tokens", json={"username": "anna"})
    assert reply.status_code == 422
    missing = ["Missing data for required field."]
    assert reply.json["error"]["fields"] == {"json": {"password": missing}}


def test_listing_municipalities_costs_the_same_few_queries_however_many_there_are(
    client, count_queries, make_staff
):
    staff = make_staff("anna", "umea", ("librarian", "umea"))
    for path in ("/api/municipalities", "/switchboard/api/participants"):
        client.get(path, headers=staff.headers)  # warm: the token's last use is noted once
        with count_queries() as counted:
            assert len(client.get(path, headers=staff.headers).json) >= 6
        # token + user + grants + principal's municipality, then the list and its two
        # eager loads: no query per municipality.
        assert len(counted) <= 7, counted


def test_readiness_names_an_unreachable_broker_and_answers_503(migrated):
    from services.platform import create_app

    nobody_listens = migrated.with_overrides(broker_url="redis://127.0.0.1:1/0")
    client = Client(create_app(nobody_listens))
    reply = client.get("/readyz")
    assert reply.status_code == 503
    assert reply.json["status"] == "unavailable"
    assert reply.json["checks"]["database"]["ok"]
    assert reply.json["checks"]["broker"]["ok"] is False
    assert reply.json["checks"]["broker"]["error"]

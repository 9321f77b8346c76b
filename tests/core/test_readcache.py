"""What the short-lived read caches cost in freshness, and what they never cost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from services import clock, readcache
from services.identity.models import ApiToken, RoleGrant
from services.identity.operations import grant_role
from services.settings_ext import session_factory_for


def _revoke_past_the_orm(migrated, staff) -> None:
    # What another process's revocation looks like from here: a committed UPDATE this
    # process never flushed.
    with session_factory_for(migrated)() as other:
        other.execute(update(ApiToken).where(ApiToken.user_id == staff.user.id)
                      .values(revoked_at=clock.now()))
        other.commit()


def test_a_token_revoked_by_another_process_stops_working_within_the_cache_lifetime(
        client, migrated, make_staff, monkeypatch):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    assert client.get("/api/me", headers=staff.headers).status_code == 200
    _revoke_past_the_orm(migrated, staff)
    # Until the entry expires this process still knows the token: the price of the cache.
    assert client.get("/api/me", headers=staff.headers).status_code == 200
    later = readcache._clock() + 5.01
    monkeypatch.setattr(readcache, "_clock", lambda: later)
    reply = client.get("/api/me", headers=staff.headers)
    assert reply.status_code == 401
    assert reply.json["error"]["message"] == "The bearer token is unknown, revoked or expired."


def test_a_grant_given_in_this_process_counts_at_the_next_request(client, db, migrated,
                                                                  make_staff, municipalities):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    before = client.get("/api/me", headers=staff.headers).json
    assert "caseworker" not in {grant["role"] for grant in before["grants"]}
    with session_factory_for(migrated)() as session:
        user = session.merge(staff.user)
        grant_role(session, user, "caseworker", municipalities["umea"], granted_by="tests")
        session.commit()
    after = client.get("/api/me", headers=staff.headers).json
    assert "caseworker" in {grant["role"] for grant in after["grants"]}


def test_a_token_that_expires_while_cached_is_refused_at_once(client, make_staff):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    assert client.get("/api/me", headers=staff.headers).status_code == 200
    with clock.frozen_at(clock.now() + timedelta(days=2)):
        assert client.get("/api/me", headers=staff.headers).status_code == 401


def test_an_uncommitted_change_is_neither_read_from_nor_kept_in_the_cache(db, migrated,
                                                                         make_staff):
    staff = make_staff("olle", "nordmaling", ("librarian", "nordmaling"))
    cache = readcache.ReadCache("test grants", seconds=60.0, watches=(RoleGrant,))
    with session_factory_for(migrated)() as session:
        def roles():
            return cache.get(session, staff.user.id, lambda: frozenset(session.scalars(
                select(RoleGrant.role).where(RoleGrant.user_id == staff.user.id))))

        assert roles() == {"librarian"}
        user = session.merge(staff.user)
        user.grants.clear()
        session.flush()
        assert roles() == frozenset()  # this transaction's own view, not the cached one
        session.rollback()
        assert roles() == {"librarian"}  # and the rolled-back view was never kept

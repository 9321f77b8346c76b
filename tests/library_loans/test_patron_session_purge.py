"""Ended patron sessions are deleted: a row saying when a patron was logged in is not kept.

``purge_ended_patron_sessions`` runs every night in the worker
(``library_loans.tasks.purge_ended_patron_sessions``); sessions still open are left alone,
in every library municipality.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from library_loans.identity import (
    SESSION_LIFETIME,
    issue_patron_session,
    patron_for_secret,
    patron_sessions,
    purge_ended_patron_sessions,
)
from library_loans.models import Patron, PatronSession
from services import clock


def _patron(session: Session, card: str) -> Patron:
    return session.scalars(select(Patron).where(Patron.card_number == card)).one()


def _sessions(consortium) -> int:  # type: ignore[no-untyped-def]
    with consortium.session() as session, patron_sessions(session):
        return session.scalar(select(func.count()).select_from(PatronSession)) or 0


def test_logged_out_sessions_are_deleted_open_ones_kept_in_every_municipality(
        consortium) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    with consortium.session() as session, patron_sessions(session):
        ulla, vilma, valle = (_patron(session, card) for card in ("10000001", "20000001",
                                                                   "30000001"))
        kept = issue_patron_session(session, ulla)
        logged_out = [issue_patron_session(session, vilma), issue_patron_session(session, valle)]
        for row in session.scalars(select(PatronSession)):
            if row.patron_id != ulla.id:
                row.revoked_at = now
        session.commit()

    with consortium.session() as session:
        assert purge_ended_patron_sessions(session, at=now + timedelta(minutes=1)) == 2
        session.commit()

    assert _sessions(consortium) == 1
    with consortium.session() as session, patron_sessions(session):
        assert patron_for_secret(session, kept) is not None
        assert all(patron_for_secret(session, secret) is None for secret in logged_out)


def test_a_session_ends_when_its_lifetime_does(consortium) -> None:  # type: ignore[no-untyped-def]
    with consortium.session() as session, patron_sessions(session):
        issue_patron_session(session, _patron(session, "10000001"))
        session.commit()
    later = clock.now() + SESSION_LIFETIME

    with consortium.session() as session:
        assert purge_ended_patron_sessions(session, at=later - timedelta(minutes=1)) == 0
        assert purge_ended_patron_sessions(session, at=later + timedelta(minutes=1)) == 1
        session.commit()
    assert _sessions(consortium) == 0


def test_the_worker_purges_ended_sessions(consortium, celery_worker) -> None:  # type: ignore[no-untyped-def]
    from library_loans import tasks

    with consortium.session() as session, patron_sessions(session):
        issue_patron_session(session, _patron(session, "10000001"))
        for row in session.scalars(select(PatronSession)):
            row.revoked_at = clock.now()
        session.commit()

    assert tasks.purge_ended_patron_sessions.delay().get(timeout=60) == 1
    assert _sessions(consortium) == 0

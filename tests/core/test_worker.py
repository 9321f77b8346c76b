"""The task base: scope travels in the message, sent after commit, one session, cleared."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.tenancy import TenantScope, tenant_scope
from tests.support import tasks
from tests.support.notes import Note

WAIT = 30  # seconds: an upper bound for a real worker, never a sleep


@pytest.fixture
def scope_umea(municipalities):
    return TenantScope.of([municipalities["umea"].id])


def test_a_task_runs_in_the_scope_it_was_sent_from(celery_worker, notes_table, db,
                                                    municipalities, scope_umea):
    umea, vannas = municipalities["umea"], municipalities["vannas"]
    with tenant_scope(TenantScope.of([umea.id, vannas.id], home=umea.id)):
        db.add_all([Note(municipality_id=umea.id, text="u"),
                    Note(municipality_id=vannas.id, text="v")])
        db.commit()
    with tenant_scope(scope_umea):
        seen = tasks.count_notes.delay().get(timeout=WAIT)
    assert seen == {"municipalities": [str(umea.id)], "home": str(umea.id), "notes": 1}


def test_a_task_sent_without_a_scope_cannot_read_tenant_data(celery_worker, notes_table):
    result = tasks.count_notes.delay()
    with pytest.raises(Exception, match="no tenant scope is set"):
        result.get(timeout=WAIT)


def test_the_scope_is_cleared_after_every_task(celery_worker, notes_table, scope_umea):
    with tenant_scope(scope_umea):
        tasks.count_notes.delay().get(timeout=WAIT)
    # The same worker threads run the next task, which must not inherit that scope.
    for _ in range(4):
        with pytest.raises(Exception, match="no tenant scope is set"):
            tasks.count_notes.delay().get(timeout=WAIT)


def test_the_task_base_commits_what_a_task_wrote(celery_worker, notes_table, db, scope_umea,
                                                 municipalities):
    with tenant_scope(scope_umea):
        landed_in = tasks.add_note.delay("från arbetaren").get(timeout=WAIT)
        assert landed_in == str(municipalities["umea"].id)
        assert db.scalars(select(Note.text)).all() == ["från arbetaren"]


def test_a_failing_task_leaves_nothing_half_written(celery_worker, notes_table, db,
                                                    scope_umea):
    with tenant_scope(scope_umea):
        with pytest.raises(RuntimeError, match="failing on purpose"):
            tasks.add_note_then_fail.delay("halvskriven").get(timeout=WAIT, propagate=True)
        assert db.scalars(select(Note)).all() == []


def test_a_task_is_sent_only_when_the_transaction_commits(celery_app, celery_worker,
                                                          notes_table, db, scope_umea):
    from celery.signals import after_task_publish

    published: list[str] = []

    def note_publish(sender=None, headers=None, **_kwargs):
        published.append(headers["id"])

    after_task_publish.connect(note_publish, weak=False)
    try:
        with tenant_scope(scope_umea):
            tasks.add_note.send_after_commit(db, "rolled back")
            db.rollback()
            assert published == []
            db.commit()  # a later commit of the same session must not send it either
            assert published == []
            task_id = tasks.add_note.send_after_commit(db, "committed")
            assert published == []
            db.commit()
            assert published == [task_id]
            celery_app.AsyncResult(task_id).get(timeout=WAIT)
            db.commit()
            assert db.scalars(select(Note.text)).all() == ["committed"]
    finally:
        after_task_publish.disconnect(note_publish)


def test_io_tasks_retry_when_a_server_is_down(celery_worker):
    attempts = tasks.flaky_delivery.delay("smtp-down", 2).get(timeout=WAIT)
    assert attempts == 3


def test_io_tasks_declare_backoff_and_idempotent_tasks_ack_late():
    from services.tasks import purge_expired_credentials
    from worker.base import IO_ERRORS

    assert purge_expired_credentials.acks_late is True
    assert tasks.add_note.acks_late is False
    assert set(IO_ERRORS) <= set(tasks.flaky_delivery.autoretry_for)


def test_each_service_has_its_own_queue(celery_worker):
    routing_key = tasks.service_queue_probe.delay().get(timeout=WAIT)
    assert routing_key == "switchboard"


def test_every_scheduled_task_is_a_task_the_worker_knows(celery_app, celery_worker):
    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}

    assert {"services.tasks.purge_expired_credentials",
            "switchboard.tasks.sync.run_due_sources"} <= scheduled
    assert scheduled <= set(celery_app.tasks)


def test_the_platform_purges_long_expired_credentials(celery_worker, db, make_staff):
    from datetime import timedelta

    from services import clock
    from services.identity.models import ApiToken
    from services.tasks import purge_expired_credentials

    staff = make_staff("kim", "umea", ("caseworker", "umea"))
    token = db.scalars(select(ApiToken).where(ApiToken.user_id == staff.user.id)).one()
    token.expires_at = clock.now() - timedelta(days=31)
    db.commit()
    assert purge_expired_credentials.delay().get(timeout=WAIT) == 1
    db.commit()
    assert db.scalars(select(ApiToken)).all() == []


@pytest.mark.redis
def test_tasks_travel_through_redis_on_the_production_broker(celery_app, celery_worker):
    assert celery_app.conf.broker_url.startswith("redis://")
    timeout = celery_app.conf.broker_transport_options["visibility_timeout"]
    from services.config import load_settings

    assert timeout > load_settings({}).longest_task_countdown_seconds
    assert tasks.service_queue_probe.delay().get(timeout=WAIT) == "switchboard"

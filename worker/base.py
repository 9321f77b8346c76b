"""The base of every Samverkan task: tenant scope in the message, own session, clean exit.

A task is a thin shell over operations::

    @service_task(idempotent=True)
    def send_notice(task, notice_id: str) -> None:
        send_notice_operation(task.session, uuid.UUID(notice_id))

Sending: ``send_notice.send_after_commit(session, str(notice.id))`` queues the task only
once the surrounding transaction has committed (a rolled-back request sends nothing) and
puts the sender's tenant scope and request id in the message headers. Running: the base
opens an app context, restores that scope, gives the task its own session, commits once
if the task returns and rolls back if it raises, then clears the scope, the request
context and the session, whatever happened.
"""

from __future__ import annotations

import contextvars
import functools
import smtplib
import uuid
from collections.abc import Callable
from typing import Any

from celery import Task
from sqlalchemy import event
from sqlalchemy.orm import Session

from services import requestcontext
from services.tenancy import TenantScope, scope_or_none, tenant_scope
from worker.app import celery_app, settings_of

_run_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "samverkan_task_session", default=None
)

SCOPE_HEADER = "samverkan_scope"
REQUEST_HEADER = "samverkan_request_id"

IO_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OSError,
    smtplib.SMTPException,
)
"""Failures of mail servers, gateways and storage that are worth retrying with backoff."""


class TenantTask(Task):
    """Celery task base carrying the tenant scope and owning one session per run."""

    abstract = True

    @property
    def session(self) -> Session:
        """This run's database session (committed by the base when the task returns)."""
        session = _run_session.get()
        if session is None:
            from services.settings_ext import session_factory_for

            session = session_factory_for(settings_of(self.app))()
            _run_session.set(session)
        return session

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Queue the task with the caller's tenant scope and request id in its headers."""
        headers = dict(options.pop("headers", None) or {})
        scope = scope_or_none()
        if scope is not None and SCOPE_HEADER not in headers:
            headers[SCOPE_HEADER] = _scope_to_message(scope)
        headers.setdefault(REQUEST_HEADER, requestcontext.current_request_id())
        return super().apply_async(args, kwargs, headers=headers, **options)

    def send_after_commit(self, session: Session, *args: Any, **kwargs: Any) -> str:
        """Queue the task once ``session``'s transaction commits (never if it rolls back).

        Returns the id the task will have, so a caller can follow its result.
        """
        scope = scope_or_none()
        request_id = requestcontext.current_request_id()
        task_id = str(uuid.uuid4())
        if not session.in_transaction():
            # Tie the send to a transaction now, so that rolling it back drops the send
            # even when nothing has been read or written yet.
            session.begin()

        def send(_session: Session) -> None:
            headers = {REQUEST_HEADER: request_id}
            if scope is not None:
                headers[SCOPE_HEADER] = _scope_to_message(scope)
            self.apply_async(args, kwargs, headers=headers, task_id=task_id)

        event.listen(session, "after_commit", send, once=True)
        event.listen(session, "after_soft_rollback", functools.partial(_forget, send=send))
        return task_id

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from services.platform import worker_flask_app

        scope = _scope_from_message(self._header(SCOPE_HEADER))
        request_id = self._header(REQUEST_HEADER) or f"task:{self.request.id or ''}"
        outer_session = _run_session.set(None)
        try:
            with (
                worker_flask_app().app_context(),
                tenant_scope(scope),
                requestcontext.bound(request_id),
            ):
                result = self.run(*args, **kwargs)
                session = _run_session.get()
                if session is not None:
                    session.commit()
                return result
        except BaseException:
            session = _run_session.get()
            if session is not None:
                session.rollback()
            raise
        finally:
            session = _run_session.get()
            if session is not None:
                session.close()
            _run_session.reset(outer_session)

    def _header(self, name: str) -> Any:
        request = self.request
        value = getattr(request, name, None)
        if value is None and request.headers:
            value = request.headers.get(name)
        return value


def service_task(
    *, name: str | None = None, idempotent: bool = False, io: bool = False, **options: Any
) -> Callable[[Callable[..., Any]], TenantTask]:
    """Declare a task: ``idempotent`` ones are acknowledged late (safe to run twice after a
    crash); ``io`` ones retry with exponential backoff when a server is down."""
    options.setdefault("bind", True)
    options["base"] = TenantTask
    options["acks_late"] = idempotent
    options["reject_on_worker_lost"] = idempotent
    if io:
        options.setdefault("autoretry_for", IO_ERRORS)
        options.setdefault("retry_backoff", 5)
        options.setdefault("retry_backoff_max", 3600)
        options.setdefault("retry_jitter", True)
        options.setdefault("max_retries", 10)
    if name:
        options["name"] = name
    return celery_app.task(**options)


def _scope_to_message(scope: TenantScope) -> dict[str, Any]:
    return {
        "municipalities": sorted(str(value) for value in scope.municipality_ids),
        "home": str(scope.home) if scope.home else None,
        "crossing": scope.crossing,
    }


def _scope_from_message(data: dict[str, Any] | None) -> TenantScope | None:
    if not data:
        return None
    home = data.get("home")
    return TenantScope.of(
        (uuid.UUID(value) for value in data["municipalities"]),
        home=uuid.UUID(home) if home else None,
        crossing=data.get("crossing"),
    )


def _forget(session: Session, previous_transaction: Any, *, send: Callable[..., None]) -> None:
    # Any rollback of the outermost transaction drops the send, even one that finds no
    # transaction begun yet (which "after_rollback" would not report).
    if previous_transaction.parent is not None:
        return
    if event.contains(session, "after_commit", send):
        event.remove(session, "after_commit", send)

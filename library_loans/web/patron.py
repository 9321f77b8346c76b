"""A patron's own pages: log in with card and PIN, reserve, my loans, holds and fines.

Plain forms with POST-redirect-GET, so everything works without JavaScript; what happened
is said on the next page (a status message, or an error summary that takes the focus).
The account is read with the same functions as the API (:mod:`library_loans.api.patrons`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from babel.dates import format_date, format_datetime
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from library_loans.access import hold_queues
from library_loans.api.patrons import (
    check_pause,
    describe_hold,
    describe_patron,
    find_patron_hold,
    find_pickup_branch,
    find_record,
    fines_of,
    holds_json,
    loans_of,
    patron_loan,
    pickup_groups,
    place_patron_hold,
    refusals_as_errors,
)
from library_loans.identity import (
    PatronPrincipal,
    count_pin_attempt,
    current_patron,
    end_patron_session,
    patron_account,
    patron_record,
    patron_sessions,
    start_patron_session,
)
from library_loans.models import Patron
from library_loans.operations.administration import card_holder
from library_loans.operations.circulation import renew
from library_loans.operations.holds import cancel_hold as leave_queue
from library_loans.operations.holds import change_pickup as move_pickup
from library_loans.operations.holds import queue_place, suspend_hold
from library_loans.operations.rules import LIBRARY_TIME, library_day
from services import clock
from services.context import db_session
from services.errors import ApiError

blueprint = Blueprint("library_patron", __name__, template_folder="../templates",
                      static_folder="../static", static_url_path="/library-static")

TEMPLATES = "library_loans/patron/"
HOLD_STATUSES = {"waiting": _l("Väntar i kön"), "in_transit": _l("På väg till dig"),
                 "ready": _l("Klar att hämta")}
_IN_SWEDISH = (
    ("Wrong card number or PIN", _l("Fel kortnummer eller PIN-kod.")),
    ("has been renewed", _l("Lånet har redan förnyats så många gånger som biblioteket "
                            "tillåter.")),
    ("Someone has reserved", _l("Någon har reserverat titeln, så lånet kan inte förnyas.")),
    ("card has expired", _l("Ditt lånekort har gått ut. Förnya det på ett bibliotek.")),
    ("Unpaid fines", _l("Obetalda avgifter spärrar nya lån och förnyelser.")),
    ("already been returned", _l("Lånet är redan återlämnat.")),
    ("already have a reservation", _l("Du har redan en reservation på den här titeln.")),
    ("No library lends this title", _l("Inget bibliotek lånar ut titeln för reservation.")),
    ("No such title", _l("Titeln finns inte i katalogen.")),
    ("No library branch", _l("Välj ett bibliotek i listan.")),
    ("does not hand out", _l("Det biblioteket lämnar inte ut reservationer.")),
    ("no longer active", _l("Reservationen är inte längre aktiv.")),
    ("still waiting can be paused", _l("Bara en reservation som väntar i kön kan pausas.")),
    ("day after today", _l("Välj ett datum efter i dag.")),
    ("at most a year", _l("En reservation kan pausas högst ett år.")),
)
"""The operations' refusals, which are written in English, as the pages say them."""


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int, dict[str, str]] | str:
    """Log in with card number and PIN; back to where the patron was going."""
    next_url = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if current_patron() is not None and request.values.get("next"):
            return redirect(next_url, code=303)
        return render_template(TEMPLATES + "login.html", next_url=next_url, error=None)
    card_number = request.form.get("card_number", "").strip()
    pin = request.form.get("pin", "")
    try:
        count_pin_attempt()
    except ApiError as refused:
        error = _("För många inloggningsförsök. Försök igen om en stund.")
        return (render_template(TEMPLATES + "login.html", next_url=next_url, error=error,
                                card_number=card_number), 429, refused.headers)
    session = db_session()
    with patron_sessions(session):
        patron = card_holder(session, card_number, pin) if card_number and pin else None
    if patron is None:
        error = _("Fel kortnummer eller PIN-kod.")
        return render_template(TEMPLATES + "login.html", next_url=next_url, error=error,
                               card_number=card_number), 401, {}
    start_patron_session(session, patron)
    if library_day(clock.now()) > patron.card_expires_on:
        flash(_("Ditt lånekort har gått ut. Du kan se dina lån och avgifter, men förnya "
                "kortet på ett bibliotek för att låna och reservera."), "error")
    return redirect(next_url, code=303)


@blueprint.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out of my pages."""
    end_patron_session(db_session())
    flash(_("Du är utloggad."), "status")
    return redirect(url_for(".login"), code=303)


@blueprint.route("/my")
def my_pages() -> Response | str:
    """The patron's loans, holds and fines."""
    principal = current_patron()
    if principal is None:
        return _to_login()
    session = db_session()
    with _account(session, principal) as patron:
        account = describe_patron(session, patron)
        loans = loans_of(session, patron)
        holds = holds_json(session, patron)
        fines = fines_of(session, patron)
        groups = pickup_groups(session, patron.home_branch_id)
    today = library_day(clock.now())
    return render_template(TEMPLATES + "my_pages.html", account=account, loans=loans,
                           holds=holds, fines=fines, groups=groups,
                           open_fines=[fine for fine in fines if fine["settled_at"] is None],
                           tomorrow=today + timedelta(days=1),
                           last_pause_day=today + timedelta(days=365))


@blueprint.route("/my/loans/<uuid:loan_id>/renew", methods=["POST"])
def renew_loan(loan_id: uuid.UUID) -> Response:
    """Renew one loan."""
    principal = current_patron()
    if principal is None:
        return _to_login()
    session = db_session()
    with _account(session, principal) as patron, _refusal_flashed():
        loan = patron_loan(session, patron, loan_id)
        with refusals_as_errors():
            renew(session, loan)
        session.flush()
        flash(_("Lånet är förnyat till %(day)s.",
                day=patron_date(library_day(loan.due_at))), "status")
    return redirect(url_for(".my_pages", _anchor="loans"), code=303)


@blueprint.route("/my/holds/<uuid:hold_id>/pause", methods=["POST"])
def pause_hold(hold_id: uuid.UUID) -> Response:
    """Pause a hold until a date, or resume it (an empty date)."""
    principal = current_patron()
    if principal is None:
        return _to_login()
    session = db_session()
    with _account(session, principal) as patron, _refusal_flashed():
        hold = find_patron_hold(session, patron, hold_id)
        until = None if "resume" in request.form else _form_date("suspended_until")
        check_pause(until)
        with hold_queues(session), refusals_as_errors():
            suspend_hold(session, hold, until)
            session.flush()
        if until is None:
            flash(_("Reservationen är återupptagen."), "status")
        else:
            flash(_("Reservationen är pausad till och med %(day)s. Du behåller din plats i "
                    "kön.", day=patron_date(until)), "status")
    return redirect(url_for(".my_pages", _anchor=f"hold-{hold_id}"), code=303)


@blueprint.route("/my/holds/<uuid:hold_id>/pickup", methods=["POST"])
def change_pickup(hold_id: uuid.UUID) -> Response:
    """Pick a hold up at another branch."""
    principal = current_patron()
    if principal is None:
        return _to_login()
    session = db_session()
    with _account(session, principal) as patron, _refusal_flashed():
        hold = find_patron_hold(session, patron, hold_id)
        pickup = find_pickup_branch(session, _form_uuid("pickup_branch_id"))
        with hold_queues(session), refusals_as_errors():
            move_pickup(session, hold, pickup)
            session.flush()
        flash(_("Reservationen hämtas nu på %(branch)s.", branch=pickup.name), "status")
    return redirect(url_for(".my_pages", _anchor=f"hold-{hold_id}"), code=303)


@blueprint.route("/my/holds/<uuid:hold_id>/cancel", methods=["GET", "POST"])
def cancel_hold(hold_id: uuid.UUID) -> Response | str:
    """Ask to confirm, then cancel a hold."""
    principal = current_patron()
    if principal is None:
        return _to_login()
    session = db_session()
    with _account(session, principal) as patron:
        hold = find_patron_hold(session, patron, hold_id)
        if request.method == "GET":
            described = describe_hold(session, hold, queue_place(session, hold))
            return render_template(TEMPLATES + "cancel.html", hold=described)
        with _refusal_flashed():
            with hold_queues(session), refusals_as_errors():
                leave_queue(session, hold)
                session.flush()
            flash(_("Reservationen är borttagen."), "status")
    return redirect(url_for(".my_pages", _anchor="holds"), code=303)


@blueprint.route("/records/<uuid:record_id>/reserve", methods=["GET", "POST"])
def reserve(record_id: uuid.UUID) -> Response | str | tuple[str, int]:
    """Reserve a title, choosing the pickup branch."""
    principal = current_patron()
    if principal is None:
        return _to_login()
    session = db_session()
    record = _record_or_404(session, record_id)
    with _account(session, principal) as patron:
        groups = pickup_groups(session, patron.home_branch_id)
        chosen = str(patron.home_branch_id)
        if request.method == "GET":
            return render_template(TEMPLATES + "reserve.html", record=record, groups=groups,
                                   chosen=chosen, error=None)
        chosen = request.form.get("pickup_branch_id", chosen)
        try:
            pickup = find_pickup_branch(session, _form_uuid("pickup_branch_id"))
            hold = place_patron_hold(session, patron, record, pickup)
        except ApiError as refused:
            return render_template(TEMPLATES + "reserve.html", record=record, groups=groups,
                                   chosen=chosen, error=_in_swedish(refused.message),
                                   field=refused.field), refused.status
        place = queue_place(session, hold)
    flash(_placed_message(hold.status, place.position, place.waiting, pickup.name), "status")
    return redirect(url_for(".my_pages", _anchor=f"hold-{hold.id}"), code=303)


@blueprint.app_template_filter("patron_date")
def patron_date(value: date | datetime | None) -> str:
    """A day as the patron reads it ("30 mars 2026"), in library time."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, "d MMMM y", tzinfo=LIBRARY_TIME, locale=_locale())
    return format_date(value, "d MMMM y", locale=_locale())


@blueprint.app_context_processor
def _patron_labels() -> dict[str, Any]:
    return {"hold_statuses": HOLD_STATUSES}


# --- private helpers -------------------------------------------------------------------


@contextmanager
def _account(session: Any, principal: PatronPrincipal) -> Iterator[Patron]:
    with patron_account(session, principal):
        yield patron_record(session, principal)
        session.flush()


@contextmanager
def _refusal_flashed() -> Iterator[None]:
    """A refusal is told on the page the patron is sent back to; nothing is changed."""
    try:
        yield
    except ApiError as refused:
        if refused.status == 404:
            raise
        db_session().rollback()
        flash(_in_swedish(refused.message), "error")


def _placed_message(status: str, position: int, waiting: int, branch: str) -> str:
    if status == "ready":
        return _("Reservationen är klar att hämta på %(branch)s.", branch=branch)
    if status == "in_transit":
        return _("Ett exemplar är på väg till %(branch)s. Du får besked när det går att "
                 "hämta.", branch=branch)
    return _("Reservationen är lagd. Du är nummer %(position)s av %(waiting)s i kön.",
             position=position, waiting=waiting)


def _to_login() -> Response:
    target = request.script_root + request.path
    if request.method == "GET" and request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    if request.method == "POST" and request.endpoint != "library_patron.reserve":
        target = url_for(".my_pages")  # the other forms post to addresses one cannot open
    return redirect(url_for(".login") + "?" + urlencode({"next": target}), code=303)


def _record_or_404(session: Any, record_id: uuid.UUID) -> Any:
    try:
        return find_record(session, record_id)
    except ApiError as missing:
        raise ApiError(404, "No such title in the catalogue.") from missing


def _safe_next(target: str) -> str:
    # Only same-site paths: a login page must never send the patron to another site.
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/")
            or target.startswith("//") or "\\" in target):
        return url_for(".my_pages")
    return target


def _form_date(name: str) -> date:
    value = request.form.get(name, "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(422, "Choose a day after today.", field=name) from None


def _form_uuid(name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.form.get(name, ""))
    except ValueError:
        raise ApiError(422, "No library branch has this id.", field=name) from None


def _in_swedish(message: str) -> str:
    for english, swedish in _IN_SWEDISH:
        if english in message:
            return str(swedish)
    return message


def _locale() -> str:
    return str(get_locale() or "sv")

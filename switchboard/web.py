"""Pages of the switchboard: the operator console.

One search box with results that follow the typing, a contact card, and "take a message",
all usable from the keyboard alone. The call context (the number the caller dialled)
picks the municipality to search first and the greeting to say.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import Blueprint, abort, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from services.context import current_principal, db_session
from services.i18n import swedish_sort_key
from services.tenancy.models import Municipality
from services.tenancy.operations import participants
from switchboard.access import operators_read
from switchboard.models import CallRoute
from switchboard.numbers import NumberError, parse_number
from switchboard.operations.directory import DirectoryError
from switchboard.operations.messages import find_message, take_message
from switchboard.search import find_entry, search
from switchboard.tasks.messages import deliver_message

blueprint = Blueprint("switchboard_web", __name__, template_folder="templates",
                      static_folder="static", static_url_path="/console-static")

LOCAL_TIME = ZoneInfo("Europe/Stockholm")
RESULTS_SHOWN = 15
NUMBER_KINDS = {"work": _l("Arbete"), "mobile": _l("Mobil"), "switchboard": _l("Växel"),
                "fax": _l("Fax")}
ABSENCE_SOURCES = {"manual": _l("manuellt"), "calendar": _l("kalender"),
                   "sync": _l("synkronisering")}
FIELD_NAMES = {"name": _l("namn"), "nickname": _l("smeknamn"), "keyword": _l("ärendeord"),
               "title": _l("titel"), "unit": _l("enhet"), "email": _l("e-post"),
               "room": _l("rum"), "number": _l("nummer"), "municipality": _l("kommun")}
MESSAGE_STATUSES = {"queued": _l("I kö"), "retrying": _l("Försöker igen"),
                    "delivered": _l("Levererat"), "failed": _l("Misslyckades")}


@blueprint.route("/")
def home() -> str:
    """The service's start page."""
    return render_template(
        "switchboard/home.html",
        title=_l("Växeln"),
        description=_l("Den gemensamma växelns katalog och telefonistens konsol."),
    )


@blueprint.route("/console")
def console() -> str | Response:
    """The operator console: call context, search box, results and the contact card."""
    if current_principal() is None:
        return redirect("/login?" + urlencode({"next": request.script_root + request.full_path}))
    session = db_session()
    with operators_read(session):
        municipalities = participants(session, "switchboard")
        readable = sorted((m for m in municipalities if _readable(m)),
                          key=lambda m: swedish_sort_key(m.name))
        call = _call_context(session, request.args.get("dialled", ""))
        chosen = request.args.get("municipality") or (call["municipality"].slug
                                                      if call and call["municipality"] else "")
        query = request.args.get("q", "")[:200]
        found, opened = [], None
        # Without script the form and the links still work: they come back here.
        if query:
            ids = [m.id for m in readable if not chosen or m.slug == chosen]
            found = search(session, query, municipality_ids=ids, limit=RESULTS_SHOWN)
        if request.args.get("open"):
            opened = _entry_or_none(session, request.args["open"])
    return render_template("switchboard/console.html", municipalities=readable, call=call,
                           chosen=chosen, query=query, results=found, entry=opened,
                           can_take_message=_can_take_messages())


@blueprint.route("/console/results")
def results() -> str:
    """The results fragment for what the operator has typed so far."""
    _require_login()
    session = db_session()
    query = request.args.get("q", "")[:200]
    with operators_read(session) as scope:
        ids = list(scope.municipality_ids)
        slug = request.args.get("municipality", "")
        if slug:
            municipality = session.scalars(
                select(Municipality).where(Municipality.slug == slug)).first()
            ids = [municipality.id] if municipality else []
        found = search(session, query, municipality_ids=ids, limit=RESULTS_SHOWN)
    return render_template("switchboard/_results.html", results=found, query=query.strip())


@blueprint.route("/console/cards/<uuid:entry_id>")
def card(entry_id: uuid.UUID) -> str:
    """The card of a contact or unit."""
    _require_login()
    session = db_session()
    with operators_read(session):
        entry = find_entry(session, entry_id)
    if entry is None:
        abort(404)
    return render_template("switchboard/_card.html", entry=entry,
                           can_take_message=_can_take_messages() and entry["kind"] != "unit")


@blueprint.route("/console/cards/<uuid:contact_id>/message")
def message_form(contact_id: uuid.UUID) -> str:
    """The "take a message" form for a contact."""
    _require_operator()
    session = db_session()
    with operators_read(session):
        entry = find_entry(session, contact_id)
    if entry is None or entry["kind"] == "unit":
        abort(404)
    return render_template("switchboard/_message_form.html", entry=entry, values={}, errors={})


@blueprint.route("/console/contacts/<uuid:contact_id>/messages", methods=["POST"])
def send_message(contact_id: uuid.UUID) -> tuple[str, int] | str:
    """Take the message; the worker delivers it and the console follows its status."""
    principal = _require_operator()
    session = db_session()
    values = {key: request.form.get(key, "") for key in
              ("caller_name", "caller_number", "subject", "text", "urgency")}
    values["urgency"] = values["urgency"] or "normal"
    with operators_read(session):
        entry = find_entry(session, contact_id)
        if entry is None or entry["kind"] == "unit":
            abort(404)
        try:
            message = take_message(session, contact_id, taken_by=principal.username, **values)
        except DirectoryError as error:
            return render_template("switchboard/_message_form.html", entry=entry,
                                   values=values, errors={error.field: error.message}), 422
        deliver_message.send_after_commit(session, str(message.id))
        return render_template("switchboard/_message_status.html", message=message,
                               contact_name=entry["name"])


@blueprint.route("/console/messages/<uuid:message_id>")
def message_status(message_id: uuid.UUID) -> str:
    """A message's delivery status (the console polls it until it is final)."""
    _require_operator()
    session = db_session()
    with operators_read(session):
        message = find_message(session, message_id)
        if message is None:
            abort(404)
        entry = find_entry(session, message.contact_id)
    return render_template("switchboard/_message_status.html", message=message,
                           contact_name=entry["name"] if entry else "")


@blueprint.app_template_filter("local_time")
def local_time(value: str | datetime | None, pattern: str = "EEE d MMM HH:mm") -> str:
    """A moment in Swedish local time, in the page's language."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, pattern, tzinfo=LOCAL_TIME, locale=str(get_locale() or "sv"))


@blueprint.app_template_filter("age")
def age(minutes: int | None) -> str:
    """How long ago something was set: "5 min", "3 h", "2 dygn"."""
    if minutes is None:
        return ""
    if minutes < 60:
        return _("%(n)s min", n=minutes)
    if minutes < 48 * 60:
        return _("%(n)s h", n=minutes // 60)
    return _("%(n)s dygn", n=minutes // (24 * 60))


@blueprint.app_context_processor
def _labels() -> dict[str, Any]:
    return {"number_kinds": NUMBER_KINDS, "absence_sources": ABSENCE_SOURCES,
            "message_statuses": MESSAGE_STATUSES, "field_names": FIELD_NAMES}


def _entry_or_none(session: Any, value: str) -> dict[str, Any] | None:
    try:
        return find_entry(session, uuid.UUID(value))
    except ValueError:
        return None


def _call_context(session: Any, dialled: str) -> dict[str, Any] | None:
    if not dialled:
        return None
    try:
        number = parse_number(dialled)
    except NumberError:
        return {"dialled": dialled, "municipality": None, "greeting": ""}
    route = session.scalars(select(CallRoute).where(CallRoute.dialled == number)).first()
    if route is None:
        return {"dialled": dialled, "municipality": None, "greeting": ""}
    return {"dialled": dialled, "municipality": session.get(Municipality, route.municipality_id),
            "greeting": route.greeting}


def _readable(municipality: Municipality) -> bool:
    principal = current_principal()
    assert principal is not None
    return (principal.has_role("operator", municipality.id)
            or municipality.id in principal.default_scope().municipality_ids)


def _can_take_messages() -> bool:
    principal = current_principal()
    return principal is not None and principal.has_role("operator")


def _require_login() -> None:
    if current_principal() is None:
        abort(401)


def _require_operator() -> Any:
    _require_login()
    if not _can_take_messages():
        abort(403)
    return current_principal()


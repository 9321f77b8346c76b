"""The librarian's desk page: check out, check in, renew, what is in transit and on hold.

One scan box with the focus, for a barcode scanner (which types the code and presses
Enter). Checking out takes the patron's card first, then the copies' barcodes; checking in
and renewing take barcodes. Each scan's outcome is shown large and read out (a live
region); a copy to send elsewhere says where. The branch chosen is remembered in a
cookie. The page answers with the same functions as the desk's API, so the two agree.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Blueprint, abort, make_response, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response

from library_loans.access import LIBRARIAN
from library_loans.api.desk import (
    checkin_at_desk,
    checkout_at_desk,
    desk_branch,
    desk_branches,
    hold_shelf_at_desk,
    patron_at_desk,
    renew_at_desk,
    transit_at_desk,
)
from library_loans.operations.rules import library_day
from services.context import current_principal, db_session
from services.errors import ApiError
from services.identity.principal import Principal
from services.tenancy.models import Municipality

blueprint = Blueprint("library_desk_web", __name__, url_prefix="/desk",
                      template_folder="../templates", static_folder="../static",
                      static_url_path="/desk-static")

BRANCH_COOKIE = "samverkan_desk_branch"
MODES = {"checkout": _l("Låna ut"), "checkin": _l("Återlämna"), "renew": _l("Förnya")}
TABS = {"desk": _l("Disken"), "transit": _l("Transport"), "hold-shelf": _l("Reservationshyllan")}
CATEGORIES = {"adult": _l("vuxen"), "youth": _l("ungdom"), "child": _l("barn"),
              "senior": _l("pensionär"), "institution": _l("institution")}


@blueprint.route("/")
def desk() -> str | Response:
    """The desk: the branch, the scan box in its mode, and the transit and hold-shelf tabs."""
    principal = _librarian_or_login()
    if isinstance(principal, Response):
        return principal
    session = db_session()
    branch = _chosen_branch(session, principal, request.args.get("branch"))
    tab = request.args.get("tab", "desk")
    if tab not in TABS:
        tab = "desk"
    state = {"mode": _mode(request.args.get("mode")), "card_number": "", "patron": None}
    listing = None
    if tab == "transit":
        listing = transit_at_desk(session, principal, branch.id)
    elif tab == "hold-shelf":
        listing = hold_shelf_at_desk(session, principal, branch.id)
    response = make_response(render_template(
        "library_loans/desk/desk.html", branches=desk_branches(session, principal),
        branch=branch, tab=tab, state=state, outcome=None, listing=listing,
        municipality_names=_municipality_names(session)))
    _remember(response, branch.id)
    return response


@blueprint.route("/scan", methods=["POST"])
def scan() -> tuple[str, int] | str | Response:
    """One scan at the desk: a card or a barcode, in the mode chosen; the outcome."""
    principal = _librarian_or_login()
    if isinstance(principal, Response):
        return principal
    session = db_session()
    branch = _chosen_branch(session, principal, request.form.get("branch_id"))
    mode = _mode(request.form.get("mode"))
    code = request.form.get("code", "").strip()[:40]
    card_number = request.form.get("card_number", "").strip()[:20]
    finished = bool(request.form.get("finish"))
    if finished:
        card_number, code = "", ""
    state = {"mode": mode, "card_number": card_number if mode == "checkout" else "",
             "patron": None}
    outcome, status = _outcome_of(session, principal, branch, state, code)
    if finished:
        outcome = {"kind": "finished"}
    template = ("library_loans/desk/_scan_result.html" if request.headers.get("HX-Request")
                else "library_loans/desk/desk.html")
    page = render_template(template, branches=desk_branches(session, principal),
                           branch=branch, tab="desk", state=state, outcome=outcome,
                           listing=None, municipality_names=_municipality_names(session))
    return page, status


# --- private helpers -------------------------------------------------------------------


def _outcome_of(session: Any, principal: Principal, branch: Any, state: dict[str, Any],
                code: str) -> tuple[dict[str, Any] | None, int]:
    """What the scan did, for the page; a refusal is a 422 the page shows like any outcome."""
    if not code:
        if state["card_number"]:
            state["patron"] = _patron_or_none(session, principal, branch, state["card_number"])
        return None, 200
    try:
        if state["mode"] == "checkout" and not state["card_number"]:
            patron = patron_at_desk(session, principal, code, branch.id)
            state["card_number"], state["patron"] = code, patron
            return {"kind": "patron", "patron": patron}, 200
        if state["mode"] == "checkout":
            state["patron"] = _patron_or_none(session, principal, branch, state["card_number"])
            loan = checkout_at_desk(session, principal, barcode=code,
                                    card_number=state["card_number"], branch_id=branch.id)
            state["patron"] = _patron_or_none(session, principal, branch, state["card_number"])
            return {"kind": "loan", "loan": loan}, 200
        if state["mode"] == "renew":
            return {"kind": "renewed", "loan": renew_at_desk(
                session, principal, barcode=code, branch_id=branch.id)}, 200
        return {"kind": "checkin",
                "checkin": checkin_at_desk(session, principal, barcode=code,
                                           branch_id=branch.id)}, 200
    except ApiError as error:
        session.rollback()
        if state["card_number"]:
            state["patron"] = _patron_or_none(session, principal, branch, state["card_number"])
        return {"kind": "refused", "code": code, "field": error.field,
                "message": swedish_refusal(error.message)}, 422


def _patron_or_none(session: Any, principal: Principal, branch: Any,
                    card_number: str) -> dict[str, Any] | None:
    try:
        return patron_at_desk(session, principal, card_number, branch.id)
    except ApiError:
        return None


def _librarian_or_login() -> Principal | Response:
    principal = current_principal()
    if principal is None:
        target = request.script_root + (request.full_path if request.method == "GET"
                                        else request.path.rsplit("/", 1)[0] + "/")
        return redirect("/login?" + urlencode({"next": target.rstrip("?")}))
    if not principal.has_role(LIBRARIAN, principal.home_municipality_id):
        abort(403)
    return principal


def _chosen_branch(session: Any, principal: Principal, asked: str | None) -> Any:
    """The branch asked for, else the one remembered, else the municipality's first."""
    for candidate in (asked, request.cookies.get(BRANCH_COOKIE)):
        try:
            return desk_branch(session, principal, uuid.UUID(candidate or ""))
        except (ValueError, ApiError):
            continue
    try:
        return desk_branch(session, principal, None)
    except ApiError:
        abort(404)


def _remember(response: Response, branch_id: uuid.UUID) -> None:
    response.set_cookie(BRANCH_COOKIE, str(branch_id), max_age=365 * 24 * 3600, path="/",
                        httponly=True, samesite="Lax")


def _municipality_names(session: Any) -> dict[str, str]:
    return dict(session.execute(select(Municipality.slug, Municipality.name)).all())


def _mode(value: str | None) -> str:
    return value if value in MODES else "checkout"


_REFUSALS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"No copy has the barcode '(?P<code>.*)'\."),
     lambda m: _("Inget exemplar har streckkoden %(code)s.", code=m["code"])),
    (re.compile(r"No patron has this library card\."),
     lambda m: _("Ingen låntagare har det lånekortet.")),
    (re.compile(r"The library card has expired.*"),
     lambda m: _("Lånekortet har gått ut: förnya det här vid disken.")),
    (re.compile(r"Unpaid fines of (?P<owed>[\d.]+) kr block borrowing \(the limit is "
                r"(?P<limit>[\d.]+) kr\)\."),
     lambda m: _("Obetalda avgifter på %(owed)s kr spärrar lån (gränsen är %(limit)s kr).",
                 owed=m["owed"].replace(".", ","), limit=m["limit"].replace(".", ","))),
    (re.compile(r"The patron already has (?P<n>\d+) loans, the most allowed\."),
     lambda m: _("Låntagaren har redan %(n)s lån, så många som tillåts.", n=m["n"])),
    (re.compile(r"The copy is on loan: check it in first\."),
     lambda m: _("Exemplaret är utlånat: återlämna det först.")),
    (re.compile(r"The copy is on the hold shelf for another patron\."),
     lambda m: _("Exemplaret ligger på reservationshyllan för en annan låntagare.")),
    (re.compile(r"The copy is in transit: check it in first\."),
     lambda m: _("Exemplaret är under transport: återlämna det först.")),
    (re.compile(r"The copy is (missing|damaged|withdrawn).*"),
     lambda m: _("Exemplaret är %(state)s och kan inte lånas ut.",
                 state={"missing": _("saknat"), "damaged": _("skadat"),
                        "withdrawn": _("gallrat")}[m[1]])),
    (re.compile(r"The copy is not on loan\."), lambda m: _("Exemplaret är inte utlånat.")),
    (re.compile(r"The loan has been renewed (?P<n>\d+) times.*"),
     lambda m: _("Lånet har förnyats %(n)s gånger, så många som biblioteket tillåter.",
                 n=m["n"])),
    (re.compile(r"Someone has reserved this title.*"),
     lambda m: _("Någon har reserverat titeln: lånet kan inte förnyas.")),
    (re.compile(r"Several municipalities' copies have the barcode.*"),
     lambda m: _("Flera kommuners exemplar har den streckkoden: återlämna det där det hör "
                 "hemma.")),
]


def swedish_refusal(message: str) -> str:
    """A refusal of the circulation rules in the page's language (its reason kept)."""
    for pattern, say in _REFUSALS:
        found = pattern.fullmatch(message)
        if found:
            return str(say(found))
    return message


@blueprint.app_template_filter("desk_date")
def desk_date(value: date | datetime | None) -> str:
    """A day as the desk says it ("30 mars 2026"), at the library's time for a moment."""
    if value is None:
        return ""
    day = library_day(value) if isinstance(value, datetime) else value
    return format_date(day, "d MMM y", locale=str(get_locale() or "sv"))


@blueprint.app_template_filter("desk_money")
def desk_money(value: Decimal | str | None) -> str:
    """An amount in kronor with two decimals, in the page's language ("60,00")."""
    return format_decimal(Decimal(str(value or 0)), "#,##0.00", locale=str(get_locale() or "sv"))


@blueprint.app_template_filter("desk_refusal")
def desk_refusal(message: str) -> str:
    """A refusal's reason in the page's language."""
    return swedish_refusal(message)


@blueprint.app_context_processor
def _desk_labels() -> dict[str, Any]:
    return {"desk_modes": MODES, "desk_tabs": TABS, "desk_categories": CATEGORIES}

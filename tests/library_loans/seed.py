"""A municipality's library data for the tenant isolation harness, and its patron actor."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pymarc
from pymarc import Field, Indicators, Subfield
from sqlalchemy import select
from sqlalchemy.orm import Session

from library_loans import identity
from library_loans.models import BibRecord, Branch, CatalogueImport, Notice
from library_loans.operations.administration import create_branch, register_patron, set_rule
from library_loans.operations.catalogue import import_marc
from library_loans.operations.circulation import checkin, checkout
from library_loans.operations.holds import place_hold
from library_loans.search.index import reindex
from services import clock
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from tests.support.isolation import Actor

SHARED_CONTROL_NUMBER = "isolation-shared-title"
"""Every municipality's copies are of one shared record: records are not tenant data."""


def seed_library(session: Session, municipality: Municipality) -> list[str | tuple[str, ...]]:
    """Branches, copies of a shared record, a patron, a loan, a hold, a fine, a notice,
    a statistics row and an import run; the patron's card and name are one marker group."""
    tag = uuid.uuid4().hex[:8]
    card = str(int(tag, 16)).zfill(10)
    patron_name = f"Isoleringslåntagare{tag}"
    barcodes = [f"ISO{tag.upper()}{n}" for n in (1, 2)]
    filename = f"isoleringsimport-{tag}.mrc"
    now = clock.now()
    with tenant_scope(TenantScope.of([municipality.id], home=municipality.id)):
        branch = create_branch(session, code=f"ISO-{tag}", name=f"Isoleringsbibliotek {tag}")
        create_branch(session, code=f"ISO-{tag}-BUSS", name=f"Isoleringsbussen {tag}",
                      kind="bookmobile", pickup=False)
        set_rule(session, loan_days=28, fine_per_day=2, fine_cap=50)
        import_marc(session, io.BytesIO(_shared_record(branch.code, barcodes).as_marc()),
                    municipality_id=municipality.id, on_records=reindex)
        session.add(CatalogueImport(filename=filename, status="succeeded", processed=1,
                                    added=1, items_added=2, finished_at=now, problems=[]))
        patron = register_patron(session, card_number=card, pin="4321", name=patron_name,
                                 home_branch=branch, email=f"{tag}@isolering.example",
                                 phone=f"+4670{card[-7:]}")
        # A late return (a fine, a statistics row), a loan, and a hold on the hold shelf.
        checkout(session, barcodes[1], patron, branch, at=now - timedelta(days=40))
        checkin(session, barcodes[1], branch, at=now)
        checkout(session, barcodes[0], patron, branch, at=now)
        record = session.scalars(select(BibRecord).where(
            BibRecord.control_number == SHARED_CONTROL_NUMBER)).one()
        hold = place_hold(session, patron, record, branch, at=now)
        session.add(Notice(patron_id=patron.id, kind="hold_ready", subject=str(hold.id),
                           channel="email", status="sent", sent_at=now))
        if hasattr(identity, "issue_patron_session"):
            identity.issue_patron_session(session, patron)
        session.flush()
    return [(card, patron_name), *barcodes, filename, f"{tag}@isolering.example"]


def patron_actor(session: Session, home: Municipality) -> Actor | None:
    """A patron of ``home`` logged in with the patron cookie (None until patrons can log in)."""
    issue = getattr(identity, "issue_patron_session", None)
    if issue is None:
        return None
    tag = uuid.uuid4().hex[:8]
    with tenant_scope(TenantScope.of([home.id], home=home.id)):
        branch = session.scalars(select(Branch).order_by(Branch.id)).first()
        if branch is None:
            branch = create_branch(session, code=f"ISO-{tag}", name=f"Hemmabibliotek {tag}")
        patron = register_patron(session, card_number=str(int(tag, 16)).zfill(10), pin="4321",
                                 name=f"Hemmalåntagare {tag}", home_branch=branch)
    secret = issue(session, patron)
    session.commit()
    return Actor("patron", {"Cookie": f"{identity.PATRON_COOKIE}={secret}"})


def _shared_record(branch_code: str, barcodes: list[str]) -> pymarc.Record:
    """The shared title with the municipality's copies in 852s."""
    record = pymarc.Record(leader="00000nam a2200000 i 4500")
    record.add_field(Field("001", data=SHARED_CONTROL_NUMBER), Field("003", data="SE-ISO"),
                     Field("008", data="240101s2024    sw            000 1 swe d"))
    record.add_field(Field("245", Indicators("1", "0"),
                           [Subfield("a", "Den gemensamma titeln")]))
    for barcode in barcodes:
        record.add_field(Field("852", Indicators(" ", " "), [
            Subfield("b", branch_code), Subfield("c", "Vuxen"), Subfield("h", "Hc"),
            Subfield("p", barcode)]))
    return record

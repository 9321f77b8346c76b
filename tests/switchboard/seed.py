"""A municipality's switchboard data for the tenant isolation harness."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from sqlalchemy.orm import Session

from services import clock
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.models import Municipality
from switchboard.models import CallRoute, DirectorySource, Message, SyncRun
from switchboard.operations.directory import (
    HoursInput,
    NumberInput,
    create_contact,
    create_unit,
    set_keyword,
)
from switchboard.operations.presence import set_absence


def seed_switchboard(session: Session, municipality: Municipality) -> list[str]:
    """Units, contacts, numbers, a keyword, an absence, a message, a source and its run."""
    tag = uuid.uuid4().hex[:8]
    unit_name = f"Isoleringsenhet{tag}"
    person = f"Isoleringsperson{tag}"
    keyword = f"isoleringsord{tag}"
    digits = str(int(tag, 16) % 10_000_000).zfill(7)
    with tenant_scope(TenantScope.of([municipality.id], home=municipality.id)):
        source = DirectorySource(name=f"HR {tag}", kind="csv", settings={"marker": tag})
        session.add(source)
        session.flush()
        session.add(SyncRun(source_id=source.id, status="succeeded", added=1,
                            rejected=[{"line": 2, "reason": f"bad row {tag}"}]))
        unit = create_unit(session, name=unit_name, level="avdelning",
                           opening_hours=[HoursInput(0, time(8), time(16))],
                           numbers=[NumberInput("switchboard", f"090-1{digits[:1]} {digits[1:]}")])
        contact = create_contact(session, given_name=person, family_name="Isolering",
                                 nicknames=[f"Smek{tag}"], unit_id=unit.id,
                                 source_id=source.id, external_id=f"ext-{tag}",
                                 numbers=[NumberInput("mobile", f"070-{digits}")])
        colleague = create_contact(session, kind="function", name=f"Funktion{tag}",
                                   unit_id=unit.id)
        set_keyword(session, keyword, synonyms=[f"synonym{tag}"], contact_id=colleague.id)
        set_absence(session, contact, reason=f"Borta{tag}", referral_contact_id=colleague.id,
                    returns_at=clock.now() + timedelta(days=1))
        session.add(Message(contact_id=contact.id, caller_name=f"Uppringare{tag}",
                            subject=f"Ärende{tag}", taken_by="isolation harness"))
        session.add(CallRoute(dialled=f"+46935{digits}", greeting=f"Hälsning{tag}"))
        session.flush()
    return [unit_name, person, keyword, f"Smek{tag}", f"Funktion{tag}", f"Uppringare{tag}"]

"""The switchboard's directory: units, contacts, numbers, keywords, absences, messages, sync.

Every table is tenant-owned; foreign keys between them include ``municipality_id``, so a
contact can only sit in a unit, be referred to or succeeded by someone of its own
municipality.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from services import clock
from services.db import Base, HasTimestamps
from services.ids import uuid7
from services.readcache import mark_changed
from services.tenancy import TenantOwned
from services.tenancy.orm import TenantSession

UNIT_LEVELS = ("forvaltning", "avdelning", "enhet")
CONTACT_KINDS = ("person", "function")
NUMBER_KINDS = ("work", "mobile", "switchboard", "fax")
ABSENCE_SOURCES = ("manual", "calendar", "sync")
URGENCIES = ("normal", "urgent")
MESSAGE_STATUSES = ("queued", "retrying", "delivered", "failed")
SOURCE_KINDS = ("csv", "ldif", "scim")
RUN_STATUSES = ("queued", "running", "succeeded", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _tenant_fk(column: str, table: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A foreign key to another switchboard table of the same municipality."""
    return ForeignKeyConstraint(
        ["municipality_id", column], [f"{table}.municipality_id", f"{table}.id"],
        ondelete=ondelete,
    )


class DirectorySource(TenantOwned, HasTimestamps, Base):
    """Where a municipality's directory comes from: an HR CSV, an LDIF export or SCIM pushes."""

    __tablename__ = "switchboard_sources"
    __table_args__ = (
        CheckConstraint(_in("kind", SOURCE_KINDS), name="kind_known"),
        CheckConstraint("schedule_minutes IS NULL OR schedule_minutes > 0",
                        name="schedule_positive"),
        UniqueConstraint("municipality_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Kind-specific: the file's blob key or path, a CSV column mapping, the LDIF base DN."""
    schedule_minutes: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_run_at: Mapped[datetime | None]


class SyncRun(TenantOwned, Base):
    """One run of a source: what it added, changed and marked as left, and its bad rows."""

    __tablename__ = "switchboard_sync_runs"
    __table_args__ = (
        _tenant_fk("source_id", "switchboard_sources", ondelete="CASCADE"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status_known"),
        Index("ix_switchboard_sync_runs_source_started", "municipality_id", "source_id",
              "started_at"),
    )

    source_id: Mapped[uuid.UUID]
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    processed: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    left: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Bad rows: ``{"line": n, "reason": "…"}``, the rest of the input imported."""
    error: Mapped[str] = mapped_column(Text, default="")


class Unit(TenantOwned, HasTimestamps, Base):
    """A node of a municipality's organisation tree: förvaltning › avdelning › enhet."""

    __tablename__ = "switchboard_units"
    __table_args__ = (
        _tenant_fk("parent_id", "switchboard_units"),
        _tenant_fk("source_id", "switchboard_sources"),
        CheckConstraint(_in("level", UNIT_LEVELS), name="level_known"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        UniqueConstraint("municipality_id", "source_id", "external_id"),
    )

    parent_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20), default="enhet")
    visiting_address: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    info: Mapped[str] = mapped_column(Text, default="")
    """What operators should know when they connect a caller here."""
    source_id: Mapped[uuid.UUID | None]
    external_id: Mapped[str | None] = mapped_column(String(200))

    numbers: Mapped[list[PhoneNumber]] = relationship(
        primaryjoin="and_(PhoneNumber.municipality_id == Unit.municipality_id, "
                    "PhoneNumber.unit_id == Unit.id)",
        foreign_keys="[PhoneNumber.municipality_id, PhoneNumber.unit_id]",
        order_by="PhoneNumber.position", cascade="all, delete-orphan", overlaps="numbers",
    )
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        primaryjoin="and_(OpeningHours.municipality_id == Unit.municipality_id, "
                    "OpeningHours.unit_id == Unit.id)",
        foreign_keys="[OpeningHours.municipality_id, OpeningHours.unit_id]",
        order_by="(OpeningHours.weekday, OpeningHours.opens)", cascade="all, delete-orphan",
    )


class OpeningHours(TenantOwned, Base):
    """One opening interval of a unit on a weekday (0 = Monday); closed on public holidays."""

    __tablename__ = "switchboard_opening_hours"
    __table_args__ = (
        _tenant_fk("unit_id", "switchboard_units", ondelete="CASCADE"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    unit_id: Mapped[uuid.UUID]
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class Contact(TenantOwned, HasTimestamps, Base):
    """A person or a function ("Kundtjänst bygg") callers can be connected to."""

    __tablename__ = "switchboard_contacts"
    __table_args__ = (
        _tenant_fk("unit_id", "switchboard_units"),
        _tenant_fk("successor_id", "switchboard_contacts"),
        _tenant_fk("source_id", "switchboard_sources"),
        CheckConstraint(_in("kind", CONTACT_KINDS), name="kind_known"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        UniqueConstraint("municipality_id", "source_id", "external_id"),
        UniqueConstraint("municipality_id", "source_id", "account_name"),
    )

    kind: Mapped[str] = mapped_column(String(10), default="person")
    name: Mapped[str] = mapped_column(String(200))
    """The display name: given and family name of a person, the function's own name."""
    given_name: Mapped[str] = mapped_column(String(100), default="")
    family_name: Mapped[str] = mapped_column(String(100), default="")
    nicknames: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    room: Mapped[str] = mapped_column(String(100), default="")
    info: Mapped[str] = mapped_column(Text, default="")
    unit_id: Mapped[uuid.UUID | None]
    left_on: Mapped[date | None]
    successor_id: Mapped[uuid.UUID | None]
    source_id: Mapped[uuid.UUID | None]
    external_id: Mapped[str | None] = mapped_column(String(200))
    account_name: Mapped[str | None] = mapped_column(String(254))
    """The sign-in name a source knows the person by (SCIM userName); matched case-insensitively."""

    numbers: Mapped[list[PhoneNumber]] = relationship(
        primaryjoin="and_(PhoneNumber.municipality_id == Contact.municipality_id, "
                    "PhoneNumber.contact_id == Contact.id)",
        foreign_keys="[PhoneNumber.municipality_id, PhoneNumber.contact_id]",
        order_by="PhoneNumber.position", cascade="all, delete-orphan", overlaps="numbers",
    )


class PhoneNumber(TenantOwned, Base):
    """One number of a contact or a unit: E.164, an internal extension, or both."""

    __tablename__ = "switchboard_numbers"
    __table_args__ = (
        _tenant_fk("contact_id", "switchboard_contacts", ondelete="CASCADE"),
        _tenant_fk("unit_id", "switchboard_units", ondelete="CASCADE"),
        CheckConstraint(_in("kind", NUMBER_KINDS), name="kind_known"),
        CheckConstraint("(contact_id IS NULL) <> (unit_id IS NULL)", name="one_owner"),
        CheckConstraint("e164 IS NOT NULL OR extension <> ''", name="number_or_extension"),
        CheckConstraint("e164 IS NULL OR e164 LIKE '+%'", name="e164_form"),
        Index("ix_switchboard_numbers_e164", "e164"),
        Index("ix_switchboard_numbers_contact", "municipality_id", "contact_id"),
        Index("ix_switchboard_numbers_unit", "municipality_id", "unit_id"),
    )

    contact_id: Mapped[uuid.UUID | None]
    unit_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(12), default="work")
    e164: Mapped[str | None] = mapped_column(String(20))
    extension: Mapped[str] = mapped_column(String(10), default="")
    display: Mapped[str] = mapped_column(String(40), default="")
    """Shown instead of the library's formatting, for numbers it formats badly."""
    formatted: Mapped[str] = mapped_column(String(40), default="")
    """The library's formatting of ``e164``, worked out once when the number is stored."""
    position: Mapped[int] = mapped_column(Integer, default=0)


class Keyword(TenantOwned, HasTimestamps, Base):
    """An ärendeord: a matter ("bygglov") and who handles it, with synonyms."""

    __tablename__ = "switchboard_keywords"
    __table_args__ = (
        _tenant_fk("contact_id", "switchboard_contacts", ondelete="CASCADE"),
        _tenant_fk("unit_id", "switchboard_units", ondelete="CASCADE"),
        CheckConstraint("(contact_id IS NULL) <> (unit_id IS NULL)", name="one_target"),
        CheckConstraint("word <> ''", name="word_not_empty"),
        UniqueConstraint("municipality_id", "word"),
    )

    word: Mapped[str] = mapped_column(String(100))
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_id: Mapped[uuid.UUID | None]
    unit_id: Mapped[uuid.UUID | None]
    note: Mapped[str] = mapped_column(String(300), default="")


class Absence(TenantOwned, Base):
    """A contact's absence: why, until when, who said so, and who takes the calls."""

    __tablename__ = "switchboard_absences"
    __table_args__ = (
        _tenant_fk("contact_id", "switchboard_contacts", ondelete="CASCADE"),
        _tenant_fk("referral_contact_id", "switchboard_contacts"),
        CheckConstraint(_in("source", ABSENCE_SOURCES), name="source_known"),
        CheckConstraint("returns_at IS NULL OR returns_at > starts_at", name="returns_after"),
        Index("ix_switchboard_absences_contact", "municipality_id", "contact_id"),
    )

    contact_id: Mapped[uuid.UUID]
    reason: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[datetime] = mapped_column(default=clock.now)
    returns_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(10), default="manual")
    set_at: Mapped[datetime] = mapped_column(default=clock.now)
    set_by: Mapped[str] = mapped_column(String(200), default="")
    referral_contact_id: Mapped[uuid.UUID | None]
    referral_note: Mapped[str] = mapped_column(String(300), default="")
    ended_at: Mapped[datetime | None]


class CallRoute(TenantOwned, Base):
    """A number callers dial that belongs to a municipality, and how to greet them."""

    __tablename__ = "switchboard_call_routes"
    __table_args__ = (UniqueConstraint("municipality_id", "dialled"),)

    dialled: Mapped[str] = mapped_column(String(20))
    greeting: Mapped[str] = mapped_column(String(200))


class Message(TenantOwned, Base):
    """A message an operator took for a contact, delivered by the worker."""

    __tablename__ = "switchboard_messages"
    __table_args__ = (
        _tenant_fk("contact_id", "switchboard_contacts", ondelete="CASCADE"),
        CheckConstraint(_in("urgency", URGENCIES), name="urgency_known"),
        CheckConstraint(_in("status", MESSAGE_STATUSES), name="status_known"),
        Index("ix_switchboard_messages_contact_taken", "municipality_id", "contact_id",
              "taken_at"),
    )

    contact_id: Mapped[uuid.UUID]
    caller_name: Mapped[str] = mapped_column(String(200))
    caller_number: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    taken_by: Mapped[str] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(default=clock.now)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    email_sent_at: Mapped[datetime | None]
    sms_sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class DirectoryRevision(TenantOwned, Base):
    """A counter per municipality, raised by every change to its directory.

    Each process keeps its search index in memory and compares revisions before it
    answers, so an edit or a sync shows up in the next search in every process.
    """

    __tablename__ = "switchboard_revisions"
    __table_args__ = (UniqueConstraint("municipality_id"),)

    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(default=clock.now)


_DIRECTORY_MODELS = (Unit, OpeningHours, Contact, PhoneNumber, Keyword, Absence, CallRoute)
RAISED_REVISIONS = "switchboard_revisions_raised"
"""Session.info key: the municipalities whose revision this transaction raised."""


def raise_revision(session: Session, municipality_id: uuid.UUID) -> None:
    """Raise a municipality's directory revision, once per transaction.

    Other processes see the new revision when the transaction commits, together with every
    change it made, so raising it again before then would tell them nothing more. The flush
    hook calls this for the changes it sees; code that writes directory rows past the ORM
    (a sync's plain inserts) calls it itself.
    """
    raised = session.info.setdefault(RAISED_REVISIONS, set())
    if municipality_id in raised:
        return
    connection = session.connection()
    insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    statement = insert(DirectoryRevision.__table__).values(
        municipality_id=municipality_id, id=uuid7(), revision=1, changed_at=clock.now(),
    )
    connection.execute(statement.on_conflict_do_update(
        index_elements=["municipality_id"],
        set_={"revision": DirectoryRevision.__table__.c.revision + 1,
              "changed_at": statement.excluded.changed_at},
    ))
    mark_changed(session, DirectoryRevision)
    raised.add(municipality_id)


def _raise_revisions(session: Session, _context: object) -> None:
    """Raise the revision of every municipality whose directory this flush changed."""
    touched = {
        obj.municipality_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, _DIRECTORY_MODELS) and obj.municipality_id is not None
    }
    for municipality_id in touched:
        raise_revision(session, municipality_id)


def _forget_raised(session: Session, _transaction: object) -> None:
    session.info.pop(RAISED_REVISIONS, None)


event.listen(TenantSession, "after_flush", _raise_revisions)
event.listen(TenantSession, "after_soft_rollback", _forget_raised)
event.listen(TenantSession, "after_commit", lambda session: _forget_raised(session, None))

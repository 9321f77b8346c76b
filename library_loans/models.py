"""The library consortium's data: one catalogue, each municipality's branches, items and rules.

Shared by the consortium and owned by no municipality (marked ``info={"shared": True}``):
bibliographic records with their MARC source, their ISBNs, the card register (which card
number belongs to which home municipality, so a card logs in anywhere) and the travel
costs between municipalities. Everything else is tenant-owned.

A library's work crosses municipal borders by nature: a Vindeln patron borrows an Umeå copy
at the Vännäs branch. Such rows belong to one municipality and point at another's rows
with a pair of columns (``patron_municipality_id``, ``patron_id``) under a composite foreign
key: the owner is the municipality whose rules govern the row (the item's owner for loans
and fines, the patron's home for holds and notices).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services import clock
from services.db import Base, HasId, HasTimestamps
from services.tenancy import TenantOwned

MEDIA_TYPES = ("book", "ebook", "audiobook", "talking_book", "film", "music", "periodical",
               "game", "other")
AUDIENCES = ("adult", "youth", "children")
BRANCH_KINDS = ("branch", "bookmobile")
ITEM_STATUSES = ("available", "on_loan", "in_transit", "on_hold_shelf", "missing", "damaged",
                 "withdrawn")
PATRON_CATEGORIES = ("adult", "youth", "child", "senior", "institution")
HOLD_STATUSES = ("waiting", "in_transit", "ready", "fulfilled", "cancelled", "expired")
ACTIVE_HOLD_STATUSES = ("waiting", "in_transit", "ready")
NOTICE_KINDS = ("hold_ready", "predue", "overdue")
NOTICE_STATUSES = ("queued", "sent", "failed")
IMPORT_STATUSES = ("queued", "running", "succeeded", "failed")
ANY = "*"
"""A rule's patron category or media type that applies to all."""


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _fk(columns: tuple[str, str], table: str, *, ondelete: str | None = None
        ) -> ForeignKeyConstraint:
    """A composite foreign key (municipality column, id column) to a tenant table."""
    return ForeignKeyConstraint(list(columns), [f"{table}.municipality_id", f"{table}.id"],
                                ondelete=ondelete)


# --- shared by the consortium ------------------------------------------------------------


class BibRecord(HasId, HasTimestamps, Base):
    """A title in the shared catalogue, with the MARC21 record it came from."""

    __tablename__ = "library_records"
    __table_args__ = (
        CheckConstraint(_in("media_type", MEDIA_TYPES), name="media_type_known"),
        CheckConstraint(_in("audience", AUDIENCES), name="audience_known"),
        CheckConstraint("title <> ''", name="title_not_empty"),
        UniqueConstraint("control_source", "control_number"),
        {"info": {"shared": True}},
    )

    control_number: Mapped[str | None] = mapped_column(String(60))
    control_source: Mapped[str] = mapped_column(String(60), default="")
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(300))
    contributors: Mapped[list[str]] = mapped_column(JSON, default=list)
    publisher: Mapped[str | None] = mapped_column(String(300))
    year: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(3))
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    classification: Mapped[list[str]] = mapped_column(JSON, default=list)
    series: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    media_type: Mapped[str] = mapped_column(String(20), default="book")
    audience: Mapped[str] = mapped_column(String(10), default="adult")
    talking_book: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    marc: Mapped[bytes] = mapped_column(LargeBinary)
    """The ISO 2709 record as imported (exported as MARCXML)."""
    search_rowid: Mapped[int | None] = mapped_column(Integer, unique=True)
    """The record's row in the full-text index (an integer, as SQLite FTS5 needs)."""


class RecordIsbn(Base):
    """An ISBN-13 of a record: re-imports find the record by it."""

    __tablename__ = "library_record_isbns"
    __table_args__ = ({"info": {"shared": True}},)

    isbn: Mapped[str] = mapped_column(String(13), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("library_records.id", ondelete="CASCADE"), primary_key=True, index=True)


class LibraryCard(Base):
    """The consortium's card register: a card number is valid in every municipality."""

    __tablename__ = "library_cards"
    __table_args__ = (
        CheckConstraint("card_number <> ''", name="card_number_not_empty"),
        _fk(("municipality_id", "patron_id"), "library_patrons", ondelete="CASCADE"),
        {"info": {"shared": True}},
    )

    card_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    municipality_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT"))
    patron_id: Mapped[uuid.UUID] = mapped_column(unique=True)


class TravelCost(Base):
    """What moving a copy from one municipality to another costs (the transport's days)."""

    __tablename__ = "library_travel_costs"
    __table_args__ = (
        CheckConstraint("cost >= 0", name="cost_not_negative"),
        {"info": {"shared": True}},
    )

    from_municipality_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True)
    to_municipality_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True)
    cost: Mapped[int] = mapped_column(Integer)


# --- each municipality's ---------------------------------------------------------------


class Branch(TenantOwned, HasTimestamps, Base):
    """A library: a branch or a bookmobile, where copies live and patrons pick them up."""

    __tablename__ = "library_branches"
    __table_args__ = (
        CheckConstraint(_in("kind", BRANCH_KINDS), name="kind_known"),
        CheckConstraint("code <> ''", name="code_not_empty"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        UniqueConstraint("municipality_id", "code"),
    )

    code: Mapped[str] = mapped_column(String(30))
    """What holdings fields and desk staff call the branch ("UMEA-STADS")."""
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12), default="branch")
    address: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    pickup: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether patrons may choose it as a pickup branch."""


class CirculationRule(TenantOwned, HasTimestamps, Base):
    """How the municipality lends its own items to one patron category and media type.

    ``*`` matches any; the most specific rule wins (category and media type, then media
    type, then category, then the municipality's default).
    """

    __tablename__ = "library_rules"
    __table_args__ = (
        CheckConstraint(_in("patron_category", (*PATRON_CATEGORIES, ANY)),
                        name="patron_category_known"),
        CheckConstraint(_in("media_type", (*MEDIA_TYPES, ANY)), name="media_type_known"),
        CheckConstraint("loan_days > 0", name="loan_days_positive"),
        CheckConstraint("renewals >= 0 AND max_loans >= 0", name="counts_not_negative"),
        CheckConstraint("fine_per_day >= 0 AND fine_cap >= 0", name="fines_not_negative"),
        CheckConstraint("hold_shelf_days > 0 AND transit_alert_days > 0",
                        name="days_positive"),
        UniqueConstraint("municipality_id", "patron_category", "media_type"),
    )

    patron_category: Mapped[str] = mapped_column(String(12), default=ANY)
    media_type: Mapped[str] = mapped_column(String(20), default=ANY)
    loan_days: Mapped[int] = mapped_column(Integer, default=28)
    renewals: Mapped[int] = mapped_column(Integer, default=2)
    max_loans: Mapped[int] = mapped_column(Integer, default=50)
    holdable: Mapped[bool] = mapped_column(Boolean, default=True)
    fine_per_day: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0"))
    fine_cap: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal("0"))
    block_threshold: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    """Unpaid fines at or over this block borrowing (None: fines never block)."""
    fines_from_age: Mapped[int | None] = mapped_column(Integer)
    """Patrons younger than this pay no fines (None: no exemption by age)."""
    floating: Mapped[bool] = mapped_column(Boolean, default=False)
    """Returned items stay where they were returned instead of going home."""
    local_priority: Mapped[bool] = mapped_column(Boolean, default=False)
    """The municipality's own patrons go first in the queue for its own copies."""
    hold_shelf_days: Mapped[int] = mapped_column(Integer, default=7)
    transit_alert_days: Mapped[int] = mapped_column(Integer, default=5)


class Item(TenantOwned, HasTimestamps, Base):
    """A copy of a record, owned by a municipality and a home branch."""

    __tablename__ = "library_items"
    __table_args__ = (
        _fk(("municipality_id", "home_branch_id"), "library_branches"),
        _fk(("location_municipality_id", "location_branch_id"), "library_branches"),
        _fk(("transit_municipality_id", "transit_branch_id"), "library_branches"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="status_known"),
        CheckConstraint(_in("media_type", MEDIA_TYPES), name="media_type_known"),
        CheckConstraint("barcode <> ''", name="barcode_not_empty"),
        CheckConstraint("(status = 'in_transit') = (transit_branch_id IS NOT NULL)",
                        name="transit_has_destination"),
        UniqueConstraint("municipality_id", "barcode"),
        Index("ix_library_items_record", "record_id", "status"),
    )

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("library_records.id", ondelete="RESTRICT"))
    barcode: Mapped[str] = mapped_column(String(40))
    home_branch_id: Mapped[uuid.UUID]
    location_municipality_id: Mapped[uuid.UUID]
    location_branch_id: Mapped[uuid.UUID]
    """Where the copy is (or, in transit, where it left from)."""
    call_number: Mapped[str] = mapped_column(String(100), default="")
    shelf: Mapped[str] = mapped_column(String(100), default="")
    media_type: Mapped[str] = mapped_column(String(20), default="book")
    status: Mapped[str] = mapped_column(String(16), default="available")
    status_changed_at: Mapped[datetime] = mapped_column(default=clock.now)
    transit_municipality_id: Mapped[uuid.UUID | None]
    transit_branch_id: Mapped[uuid.UUID | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration
    # The home branch's key (municipality, branch) holds the municipality: a key of its own
    # checked the same again for every copy written (a fifth of writing an import's copies
    # on PostgreSQL, 0.95 s of 4.9 s for 285,000; migration 0008).
    __municipality_key__ = False


class Patron(TenantOwned, HasTimestamps, Base):
    """A library patron, registered in their home municipality; the card works everywhere."""

    __tablename__ = "library_patrons"
    __table_args__ = (
        _fk(("municipality_id", "home_branch_id"), "library_branches"),
        CheckConstraint(_in("category", PATRON_CATEGORIES), name="category_known"),
        CheckConstraint("name <> ''", name="name_not_empty"),
        CheckConstraint("locale IN ('sv', 'en')", name="locale_known"),
        UniqueConstraint("municipality_id", "card_number"),
    )

    card_number: Mapped[str] = mapped_column(String(20))
    pin_hash: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    """E.164, for SMS notices."""
    locale: Mapped[str] = mapped_column(String(5), default="sv")
    category: Mapped[str] = mapped_column(String(12), default="adult")
    birth_date: Mapped[date | None] = mapped_column(Date)
    home_branch_id: Mapped[uuid.UUID]
    card_expires_on: Mapped[date] = mapped_column(Date)
    keeps_history: Mapped[bool] = mapped_column(Boolean, default=False)
    """The patron opted in to keeping returned loans linked to them."""


class Loan(TenantOwned, Base):
    """A copy lent to a patron; owned by the item's municipality, whose rules govern it.

    When the copy comes back the loan forgets the patron, unless the patron keeps history.
    """

    __tablename__ = "library_loans"
    __table_args__ = (
        _fk(("municipality_id", "item_id"), "library_items"),
        _fk(("patron_municipality_id", "patron_id"), "library_patrons", ondelete="SET NULL"),
        _fk(("branch_municipality_id", "branch_id"), "library_branches"),
        CheckConstraint("renewals >= 0", name="renewals_not_negative"),
        CheckConstraint("returned_at IS NOT NULL OR patron_id IS NOT NULL",
                        name="open_loan_has_patron"),
        Index("uq_library_loans_open_item", "municipality_id", "item_id", unique=True,
              sqlite_where=text("returned_at IS NULL"),
              postgresql_where=text("returned_at IS NULL")),
        Index("ix_library_loans_patron", "patron_municipality_id", "patron_id", "returned_at"),
        Index("ix_library_loans_due", "due_at", postgresql_where=text("returned_at IS NULL"),
              sqlite_where=text("returned_at IS NULL")),
    )

    item_id: Mapped[uuid.UUID]
    patron_municipality_id: Mapped[uuid.UUID | None]
    patron_id: Mapped[uuid.UUID | None]
    branch_municipality_id: Mapped[uuid.UUID]
    branch_id: Mapped[uuid.UUID]
    """Where it was checked out."""
    checked_out_at: Mapped[datetime] = mapped_column(default=clock.now)
    due_at: Mapped[datetime]
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    returned_at: Mapped[datetime | None]


class Hold(TenantOwned, Base):
    """A patron's place in a title's queue; owned by the patron's home municipality."""

    __tablename__ = "library_holds"
    __table_args__ = (
        _fk(("municipality_id", "patron_id"), "library_patrons", ondelete="CASCADE"),
        _fk(("pickup_municipality_id", "pickup_branch_id"), "library_branches"),
        _fk(("item_municipality_id", "item_id"), "library_items"),
        CheckConstraint(_in("status", HOLD_STATUSES), name="status_known"),
        CheckConstraint("(status IN ('in_transit', 'ready', 'fulfilled')) = "
                        "(item_id IS NOT NULL)", name="captured_has_item"),
        Index("uq_library_holds_patron_record", "municipality_id", "patron_id", "record_id",
              unique=True,
              sqlite_where=text("status IN ('waiting', 'in_transit', 'ready')"),
              postgresql_where=text("status IN ('waiting', 'in_transit', 'ready')")),
        Index("uq_library_holds_item", "item_municipality_id", "item_id", unique=True,
              sqlite_where=text("status IN ('in_transit', 'ready')"),
              postgresql_where=text("status IN ('in_transit', 'ready')")),
        Index("ix_library_holds_queue", "record_id", "status", "placed_at"),
    )

    record_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("library_records.id", ondelete="RESTRICT"))
    patron_id: Mapped[uuid.UUID]
    pickup_municipality_id: Mapped[uuid.UUID]
    pickup_branch_id: Mapped[uuid.UUID]
    placed_at: Mapped[datetime] = mapped_column(default=clock.now)
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    suspended_until: Mapped[date | None] = mapped_column(Date)
    item_municipality_id: Mapped[uuid.UUID | None]
    item_id: Mapped[uuid.UUID | None]
    captured_at: Mapped[datetime | None]
    ready_at: Mapped[datetime | None]
    shelf_expires_on: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Fine(TenantOwned, Base):
    """A fine for a late return, owed to the item's municipality."""

    __tablename__ = "library_fines"
    __table_args__ = (
        _fk(("patron_municipality_id", "patron_id"), "library_patrons", ondelete="CASCADE"),
        _fk(("municipality_id", "loan_id"), "library_loans"),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("municipality_id", "loan_id"),
        # What a patron owes is summed at every check-out: their unsettled fines.
        Index("ix_library_fines_patron_unsettled", "patron_municipality_id", "patron_id",
              postgresql_where=text("settled_at IS NULL"),
              sqlite_where=text("settled_at IS NULL")),
    )

    patron_municipality_id: Mapped[uuid.UUID]
    patron_id: Mapped[uuid.UUID]
    loan_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    settled_at: Mapped[datetime | None]


class Notice(TenantOwned, Base):
    """A notice to a patron on one channel; the unique key is what makes it never twice."""

    __tablename__ = "library_notices"
    __table_args__ = (
        _fk(("municipality_id", "patron_id"), "library_patrons", ondelete="CASCADE"),
        CheckConstraint(_in("kind", NOTICE_KINDS), name="kind_known"),
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint(_in("status", NOTICE_STATUSES), name="status_known"),
        UniqueConstraint("municipality_id", "kind", "subject", "channel"),
    )

    patron_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(12))
    subject: Mapped[str] = mapped_column(String(80))
    """What the notice is about: a hold's or a loan's id, with the due date for reminders."""
    channel: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(8), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")


class LoanStatistic(TenantOwned, Base):
    """Loans of the municipality's items by borrowers' municipality, media type and month.

    Counted at check-in, with no link to who borrowed: what the inter-municipal flow
    figures need and no more.
    """

    __tablename__ = "library_loan_statistics"
    __table_args__ = (
        ForeignKeyConstraint(["borrower_municipality_id"], ["municipalities.id"]),
        CheckConstraint("loans > 0", name="loans_positive"),
        UniqueConstraint("municipality_id", "borrower_municipality_id", "media_type", "month"),
    )

    borrower_municipality_id: Mapped[uuid.UUID]
    media_type: Mapped[str] = mapped_column(String(20))
    month: Mapped[date] = mapped_column(Date)
    """The first day of the month."""
    loans: Mapped[int] = mapped_column(Integer, default=1)


class CatalogueImport(TenantOwned, Base):
    """A MARC file a municipality imported: its progress, counts and rejected records."""

    __tablename__ = "library_imports"
    __table_args__ = (
        CheckConstraint(_in("status", IMPORT_STATUSES), name="status_known"),
    )

    filename: Mapped[str] = mapped_column(String(300))
    blob_key: Mapped[str] = mapped_column(String(300), default="")
    holdings_layout: Mapped[str] = mapped_column(String(10), default="852")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    processed: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    items_added: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """The first rejected records: ``{"position": n, "offset": b, "reason": "…"}``."""
    error: Mapped[str] = mapped_column(Text, default="")


# The catalogue's search tables are declared beside the code that fills them (their shape
# differs between SQLite FTS5 and PostgreSQL); importing them here lets the metadata know
# every library table, for the database grants and for wiping a test database.
from library_loans.search import index as _search_index  # noqa: E402, F401


class PatronSession(TenantOwned, Base):
    """A patron's login: a random secret kept only as its digest, in the patron's home
    municipality; it ends when it expires or the patron logs out (revoked)."""

    __tablename__ = "library_patron_sessions"
    __table_args__ = (
        _fk(("municipality_id", "patron_id"), "library_patrons", ondelete="CASCADE"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        UniqueConstraint("digest"),
        Index("ix_library_patron_sessions_patron", "municipality_id", "patron_id"),
    )

    patron_id: Mapped[uuid.UUID]
    digest: Mapped[str] = mapped_column(String(64))
    """The SHA-256 of the secret in the patron's cookie, never the secret itself."""
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

"""The catalogue's "available now in" facet and filter follow the copies as they move.

Where a record has a copy on a shelf is kept in its search index row
(:mod:`library_loans.search.places`): indexing works it out, and every check-out,
check-in or status change at a desk works it out again in the same transaction.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from library_loans.access import hold_queues
from library_loans.models import Item
from library_loans.operations.circulation import checkin, checkout, find_patron
from library_loans.search.index import listing_table, reindex
from library_loans.search.query import search_records
from tests.library_loans.conftest import MONDAY, add_item


def _indexed(consortium):
    with consortium.session() as session:
        reindex(session, [record.id for record in consortium.records.values()])
        session.commit()


def _available_in(consortium, **filters):
    with consortium.session() as session:
        page = search_records(session, "lejonhjärta", **filters)
        return page.facets.available_in, page.total


def _places(consortium):
    record = consortium.records["bröder"]
    with consortium.session() as session:
        listing = listing_table(session)
        return session.scalar(select(listing.c.places).where(listing.c.record_id == record.id))


def test_indexing_finds_where_copies_are_in(consortium):
    _indexed(consortium)
    assert _places(consortium) == ",umea,vindeln,"
    assert _available_in(consortium) == ({"umea": 1, "vindeln": 1}, 1)
    assert _available_in(consortium, available_in="vannas") == ({}, 0)
    assert _available_in(consortium, available_in="vindeln")[1] == 1


def test_a_loan_and_a_return_move_the_facet_at_once(consortium):
    _indexed(consortium)
    with consortium.session() as session, hold_queues(session):
        ulla = find_patron(session, "10000001")
        checkout(session, "V0001", ulla, consortium.branches["UMEA-STADS"], at=MONDAY)
        session.commit()
    assert _available_in(consortium) == ({"umea": 1}, 1)
    assert _available_in(consortium, available_in="vindeln") == ({}, 0)
    with consortium.session() as session, hold_queues(session):
        # Returned in Vännäs: the copy goes home to Vindeln (not floating), so it is on no
        # shelf until it arrives.
        checkin(session, "V0001", consortium.branches["VANNAS-HB"],
                at=MONDAY + timedelta(days=2))
        session.commit()
    assert _available_in(consortium) == ({"umea": 1}, 1)
    with consortium.session() as session, hold_queues(session):
        checkin(session, "V0001", consortium.branches["VINDELN-HB"],
                at=MONDAY + timedelta(days=3))
        session.commit()
    assert _available_in(consortium) == ({"umea": 1, "vindeln": 1}, 1)


def test_a_new_copy_and_a_withdrawn_one_change_the_places(consortium):
    _indexed(consortium)
    with consortium.session() as session:
        add_item(session, consortium.records["bröder"], consortium.branches["VANNAS-HB"],
                 "W0001")
        session.commit()
    assert _places(consortium) == ",umea,vannas,vindeln,"
    with consortium.session() as session, hold_queues(session):
        for item in session.scalars(select(Item).where(Item.barcode.in_(["U0001", "W0001"]))):
            item.status = "withdrawn"
        session.commit()
    assert _places(consortium) == ",vindeln,"


@pytest.mark.postgres
def test_two_desks_returning_copies_of_one_title_at_once_both_show(consortium):
    # Each transaction works the places out from the copies it can see; without taking the
    # record's index row in turn, the later commit would keep only its own copy.
    _indexed(consortium)
    with consortium.session() as session, hold_queues(session):
        ulla = find_patron(session, "10000001")
        for barcode in ("U0001", "V0001"):
            checkout(session, barcode, ulla, consortium.branches["UMEA-STADS"], at=MONDAY)
        session.commit()
    assert _places(consortium) == ""
    for _ in range(5):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def give_back(barcode, code, barrier, errors):
            try:
                with consortium.session() as session, hold_queues(session):
                    barrier.wait()
                    checkin(session, barcode, consortium.branches[code],
                            at=MONDAY + timedelta(days=1))
                    session.commit()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [threading.Thread(target=give_back, args=(*args, barrier, errors))
                   for args in (("U0001", "UMEA-STADS"), ("V0001", "VINDELN-HB"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert _places(consortium) == ",umea,vindeln,"
        with consortium.session() as session, hold_queues(session):
            for barcode in ("U0001", "V0001"):
                checkout(session, barcode, ulla, consortium.branches["UMEA-STADS"], at=MONDAY)
            session.commit()
        assert _places(consortium) == ""


def test_a_copy_sent_on_writes_its_row_without_working_the_places_out(consortium,
                                                                     count_queries):
    _indexed(consortium)
    with consortium.session() as session, hold_queues(session):
        ulla = find_patron(session, "10000001")
        checkout(session, "U0001", ulla, consortium.branches["UMEA-STADS"], at=MONDAY)
        session.commit()
    assert _places(consortium) == ",vindeln,"
    with consortium.session() as session, hold_queues(session), count_queries() as sent:
        # Returned in Vännäs, the copy is on its way home: from a loan into transit, on no
        # shelf either way. Its row is written all the same (every change to a record's
        # copies is), as it was.
        checkin(session, "U0001", consortium.branches["VANNAS-HB"],
                at=MONDAY + timedelta(days=1))
        session.commit()
    written = [statement for statement in sent if "library_record_search" in statement]
    assert [statement.split()[0] for statement in written][-1] == "UPDATE"
    assert not [statement for statement in sent if "municipalities.slug" in statement]
    assert _places(consortium) == ",vindeln,"
    with consortium.session() as session, hold_queues(session):
        checkin(session, "U0001", consortium.branches["UMEA-STADS"],
                at=MONDAY + timedelta(days=2))
        session.commit()
    assert _places(consortium) == ",umea,vindeln,"

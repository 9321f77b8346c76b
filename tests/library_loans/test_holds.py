"""Reservations: one fair queue per title, the nearest free copy, and copies passed on."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from library_loans.access import hold_queues
from library_loans.models import Hold, Item, Loan
from library_loans.operations.administration import set_rule
from library_loans.operations.circulation import checkin, checkout, find_patron
from library_loans.operations.holds import (
    cancel_hold,
    change_pickup,
    expire_uncollected,
    place_hold,
    queue_place,
    retarget,
    suspend_hold,
)
from library_loans.operations.rules import Refusal
from services.tenancy import TenantScope, tenant_scope
from tests.library_loans.conftest import MONDAY, add_item


def _lend_all(consortium, session):
    ulla = find_patron(session, "10000001")
    for barcode in ("U0001", "V0001"):
        checkout(session, barcode, ulla, consortium.branches["UMEA-STADS"], at=MONDAY)


def test_a_free_copy_goes_to_the_hold_by_the_least_transport(consortium, queues):
    valle, vilma = find_patron(queues, "30000001"), find_patron(queues, "20000001")
    urban = find_patron(queues, "10000002")
    record = consortium.records["bröder"]
    # Vännäs is nearer Umeå (1) than Vindeln (2): the Umeå copy travels.
    to_vannas = place_hold(queues, valle, record, consortium.branches["VANNAS-HB"], at=MONDAY)
    assert to_vannas.status == "in_transit"
    assert to_vannas.item_id == consortium.items["umea-1"].id
    # The Vindeln copy is on the pickup branch's own shelf: ready at once.
    at_home = place_hold(queues, vilma, record, consortium.branches["VINDELN-HB"], at=MONDAY)
    assert at_home.status == "ready" and at_home.item_id == consortium.items["vindeln-1"].id
    # Nothing free is left: Urban waits.
    waits = place_hold(queues, urban, record, consortium.branches["UMEA-HOLMSUND"], at=MONDAY)
    assert waits.status == "waiting" and waits.item_id is None


def test_the_same_municipality_beats_a_cheaper_neighbour(consortium, queues):
    urban = find_patron(queues, "10000002")
    hold = place_hold(queues, urban, consortium.records["bröder"],
                      consortium.branches["UMEA-HOLMSUND"], at=MONDAY)
    assert hold.item_id == consortium.items["umea-1"].id and hold.status == "in_transit"


def test_positions_are_true_and_local_priority_shows_in_them(consortium, queues):
    _lend_all(consortium, queues)
    record = consortium.records["bröder"]
    vilma, valle = find_patron(queues, "20000001"), find_patron(queues, "30000001")
    urban = find_patron(queues, "10000002")
    first = place_hold(queues, vilma, record, consortium.branches["VINDELN-HB"], at=MONDAY)
    second = place_hold(queues, valle, record, consortium.branches["VANNAS-HB"],
                        at=MONDAY + timedelta(minutes=1))
    third = place_hold(queues, urban, record, consortium.branches["UMEA-HOLMSUND"],
                       at=MONDAY + timedelta(minutes=2))
    assert [queue_place(queues, h).position for h in (first, second, third)] == [1, 2, 3]
    assert queue_place(queues, third).estimated_days == 2 * 28
    with tenant_scope(TenantScope.of([consortium.municipalities["umea"].id])):
        set_rule(queues, local_priority=True)
    # Umeå's own copy serves Umeå's patron first, and the positions say so.
    assert queue_place(queues, third).position == 1
    assert queue_place(queues, first).position == 1  # Vindeln's copy serves in order
    back = checkin(queues, "U0001", consortium.branches["UMEA-STADS"],
                   at=MONDAY + timedelta(days=3))
    assert back.hold.id == third.id


def test_a_paused_hold_keeps_its_place_while_others_pass(consortium, queues):
    _lend_all(consortium, queues)
    record = consortium.records["bröder"]
    vilma, valle = find_patron(queues, "20000001"), find_patron(queues, "30000001")
    paused = place_hold(queues, vilma, record, consortium.branches["VINDELN-HB"], at=MONDAY)
    later = place_hold(queues, valle, record, consortium.branches["VANNAS-HB"],
                       at=MONDAY + timedelta(minutes=1))
    suspend_hold(queues, paused, date(2026, 3, 20))
    back = checkin(queues, "U0001", consortium.branches["VANNAS-HB"],
                   at=MONDAY + timedelta(days=1))
    assert back.hold.id == later.id and later.status == "ready"
    assert paused.status == "waiting"
    again = checkin(queues, "V0001", consortium.branches["VINDELN-HB"],
                    at=datetime.combine(date(2026, 3, 21), time(10), UTC))
    assert again.hold.id == paused.id


def test_cancelling_and_expiring_pass_the_copy_to_the_next_in_line(consortium, queues):
    _lend_all(consortium, queues)
    record = consortium.records["bröder"]
    vilma, valle = find_patron(queues, "20000001"), find_patron(queues, "30000001")
    urban = find_patron(queues, "10000002")
    first = place_hold(queues, vilma, record, consortium.branches["UMEA-STADS"], at=MONDAY)
    second = place_hold(queues, valle, record, consortium.branches["UMEA-STADS"],
                        at=MONDAY + timedelta(minutes=1))
    third = place_hold(queues, urban, record, consortium.branches["UMEA-STADS"],
                       at=MONDAY + timedelta(minutes=2))
    checkin(queues, "U0001", consortium.branches["UMEA-STADS"], at=MONDAY)
    assert first.status == "ready"
    cancel_hold(queues, first, at=MONDAY)
    assert first.status == "cancelled" and second.status == "ready"
    assert second.item_id == consortium.items["umea-1"].id
    # Second never comes: a week on the shelf, then the copy goes to third.
    assert expire_uncollected(queues, at=MONDAY + timedelta(days=8)) == 1
    assert second.status == "expired" and third.status == "ready"


def test_changing_the_pickup_branch_reroutes_a_caught_copy(consortium, queues):
    vilma = find_patron(queues, "20000001")
    hold = place_hold(queues, vilma, consortium.records["bröder"],
                      consortium.branches["VINDELN-HB"], at=MONDAY)
    assert hold.status == "ready"
    change_pickup(queues, hold, consortium.branches["UMEA-STADS"], at=MONDAY)
    item = queues.get(Item, (hold.item_municipality_id, hold.item_id))
    assert hold.status == "in_transit" and item.status == "in_transit"
    assert item.transit_branch_id == consortium.branches["UMEA-STADS"].id


def test_a_copy_that_never_arrives_is_flagged_and_the_hold_gets_another(consortium, queues):
    valle = find_patron(queues, "30000001")
    hold = place_hold(queues, valle, consortium.records["bröder"],
                      consortium.branches["VANNAS-HB"], at=MONDAY)
    lost = hold.item_id
    assert retarget(queues, at=MONDAY + timedelta(days=3)) == 0  # still on its way
    assert retarget(queues, at=MONDAY + timedelta(days=6)) == 1
    assert queues.get(Item, (consortium.municipalities["umea"].id, lost)).status == "missing"
    assert hold.status == "in_transit" and hold.item_id == consortium.items["vindeln-1"].id


def test_holds_are_refused_with_a_reason(consortium, queues):
    vilma = find_patron(queues, "20000001")
    record = consortium.records["bröder"]
    place_hold(queues, vilma, record, consortium.branches["VINDELN-HB"], at=MONDAY)
    with pytest.raises(Refusal, match="already have a reservation"):
        place_hold(queues, vilma, record, consortium.branches["VINDELN-HB"], at=MONDAY)
    for slug in ("umea", "vindeln"):
        with tenant_scope(TenantScope.of([consortium.municipalities[slug].id])):
            set_rule(queues, holdable=False)
    valle = find_patron(queues, "30000001")
    with pytest.raises(Refusal, match="No library lends this title out to be reserved"):
        place_hold(queues, valle, record, consortium.branches["VANNAS-HB"], at=MONDAY)


# --- races -------------------------------------------------------------------------------


def _race(consortium, *actions):
    """Run each action in its own thread and session at once; commit what succeeds."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(position, action):
        barrier.wait()  # before any statement: on SQLite the first one takes the write lock
        with consortium.session() as session, hold_queues(session):
            try:
                outcomes[position] = action(session)
                session.commit()
            except (Refusal, IntegrityError, StaleDataError, OperationalError) as error:
                session.rollback()
                outcomes[position] = error

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_patrons_racing_for_the_last_copy_get_one_loan(consortium):
    def borrow(card):
        def action(session):
            patron = find_patron(session, card)
            return checkout(session, "U0001", patron, consortium.branches["UMEA-STADS"],
                            at=MONDAY).id
        return action

    outcomes = _race(consortium, borrow("20000001"), borrow("30000001"))
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    with consortium.session() as session, hold_queues(session):
        assert len(session.scalars(select(Loan)).all()) == 1


def test_two_copies_returned_at_once_fill_one_hold_once(consortium):
    with consortium.session() as session, hold_queues(session):
        _lend_all(consortium, session)
        valle = find_patron(session, "30000001")
        place_hold(session, valle, consortium.records["bröder"],
                   consortium.branches["VANNAS-HB"], at=MONDAY)
        session.commit()

    def return_copy(barcode, branch):
        return lambda session: checkin(session, barcode, consortium.branches[branch],
                                       at=MONDAY + timedelta(days=1)).action

    outcomes = _race(consortium, return_copy("U0001", "UMEA-STADS"),
                     return_copy("V0001", "VINDELN-HB"))
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    with consortium.session() as session, hold_queues(session):
        hold = session.scalars(select(Hold)).one()
        assert hold.status == "in_transit" and hold.item_id is not None
        statuses = sorted(item.status for item in session.scalars(select(Item)))
        assert statuses == ["available", "in_transit"]


def test_one_copy_returned_for_two_waiting_patrons_fills_only_the_first(consortium):
    with consortium.session() as session, hold_queues(session):
        _lend_all(consortium, session)
        extra = add_item(session, consortium.records["bröder"],
                         consortium.branches["VANNAS-HB"], "W0001")
        checkout(session, extra.barcode, find_patron(session, "10000001"),
                 consortium.branches["VANNAS-HB"], at=MONDAY)
        for minute, card, code in ((0, "30000001", "VANNAS-HB"), (1, "20000001", "VINDELN-HB")):
            place_hold(session, find_patron(session, card), consortium.records["bröder"],
                       consortium.branches[code], at=MONDAY + timedelta(minutes=minute))
        session.commit()
    outcomes = _race(consortium,
                     lambda s: checkin(s, "U0001", consortium.branches["UMEA-STADS"]).action,
                     lambda s: checkin(s, "W0001", consortium.branches["VANNAS-HB"]).action)
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    with consortium.session() as session, hold_queues(session):
        holds = session.scalars(select(Hold).order_by(Hold.placed_at)).all()
        assert [hold.status != "waiting" for hold in holds] == [True, True]
        assert len({hold.item_id for hold in holds}) == 2


def test_retargeting_gives_new_copies_to_the_first_in_line_each_the_nearest(consortium,
                                                                          queues):
    _lend_all(consortium, queues)
    record = consortium.records["bröder"]
    waiting = [place_hold(queues, find_patron(queues, card), record,
                          consortium.branches[code], at=MONDAY + timedelta(minutes=n))
               for n, (card, code) in enumerate((("30000001", "VANNAS-HB"),
                                                 ("20000001", "VINDELN-HB"),
                                                 ("10000002", "UMEA-HOLMSUND")))]
    # Two copies arrive with an import, caught by no hold until the worker retargets.
    from_umea = add_item(queues, record, consortium.branches["UMEA-HOLMSUND"], "U0002")
    from_vindeln = add_item(queues, record, consortium.branches["VINDELN-HB"], "V0002")
    assert retarget(queues, at=MONDAY + timedelta(days=1)) == 2
    first, second, third = waiting
    # Valle (first) gets the one nearer Vännäs; Vilma's copy is on her pickup's shelf.
    assert (first.status, first.item_id) == ("in_transit", from_umea.id)
    assert from_umea.status == "in_transit"
    assert from_umea.transit_branch_id == consortium.branches["VANNAS-HB"].id
    assert (second.status, second.item_id) == ("ready", from_vindeln.id)
    assert from_vindeln.status == "on_hold_shelf"
    assert third.status == "waiting"
    assert retarget(queues, at=MONDAY + timedelta(days=1)) == 0

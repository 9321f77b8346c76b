"""The circulation desk under load, and the worker's re-targeting of every open hold.

The consortium is generated (:mod:`bench.library_data`: 300,000 records, 1,000,000 items,
100,000 patrons, 50,000 open holds; ``--quick``: 2,000 records) into a throwaway database.

- ``desk``: several desk clients, each a process of its own (so that they share no GIL),
  each doing check-out + check-in pairs as fast as it can: it lends a copy from a shelf to
  a patron (found by card number, as the desk finds them) and takes back a copy on loan,
  at the desks of different municipalities (a Vindeln copy comes back in Vännäs). A third
  of the copies taken back are of titles with holds waiting, so that those check-ins catch
  the copy for the first in line (to the hold shelf, or in transit to the pickup branch).
  Each check-out and each check-in is a transaction of its own, committed, in the
  librarian's circulation scope (every library municipality); on PostgreSQL as the app's
  role, with row-level security in force. ``ops_per_second`` counts check-outs and
  check-ins over the wall time from the common start to the last client's end.
  Aim: at least 200 operations per second. On a shared machine the steadier figures are
  per operation and kind: ``statements_per_op`` (SQL statements sent, the transaction's
  own ``set_config`` included, its COMMIT not) and ``cpu_ms_per_op`` (the client's CPU
  time, commit included).
- ``retarget``: after the desks, ``library_loans.operations.holds.retarget`` over the
  whole consortium in one transaction (the worker's task), committed, as the app's role:
  copies overdue in transit are marked missing and their holds queue again, and every
  title with waiting holds and a free copy is served. Aim: at most 60 seconds.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select

from bench.library_data import FULL, QUICK, BranchInfo, GeneratedConsortium, load_consortium
from bench.runner import BenchDatabase, BenchOptions, database_info, throwaway_database
from bench.runner.timing import latency_summary
from library_loans.access import CIRCULATION, SERVICE, hold_queues
from library_loans.models import Branch, Hold
from library_loans.operations.circulation import checkin, checkout, find_patron
from library_loans.operations.holds import retarget
from library_loans.operations.rules import Refusal
from services.settings_ext import session_factory_for
from services.tenancy import TenantScope, tenant_scope
from services.tenancy.operations import participant_ids

AIMS = {"ops_per_second": 200.0, "retarget_seconds": 60.0}
SEED = 2480
QUEUED_SHARE = 1 / 3
"""Share of the check-ins that take back a copy of a title with holds waiting."""
START_TIMEOUT = 300


@dataclass(frozen=True)
class DeskWork:
    """What one desk client does: its pairs, in order, and where the desks are."""

    client: int
    pairs: list[tuple[str, str, str, tuple[str, str], tuple[str, str]]]
    """(copy to lend, card, copy to take back, lending desk, returning desk); a desk is
    (municipality id, branch id) as strings."""
    seconds: float | None


def run(options: BenchOptions) -> dict[str, Any]:
    """Generate the consortium, drive the desks, then re-target every open hold."""
    size = QUICK if options.quick else FULL
    with throwaway_database(options.db, options.database_url, seed=False) as database:
        generated, load = load_consortium(database, size)
        return {
            "database": database_info(database),
            "consortium": load,
            "desk": measure_desks(database, generated, options),
            "retarget": measure_retarget(database),
        }


def measure_desks(database: BenchDatabase, generated: GeneratedConsortium,
                  options: BenchOptions) -> dict[str, Any]:
    """Check-out + check-in pairs from several processes at once: operations per second."""
    clients = options.pick(options.clients, 4, 2)
    pairs = options.pick(options.iterations, 4000, 40)
    work = _share_out(generated, clients, pairs, options.seconds)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(clients + 1)
    results = context.Queue()
    processes = [context.Process(target=_desk_client, args=(database, each, start, results),
                                 name=f"desk-{each.client}") for each in work]
    for process in processes:
        process.start()
    start.wait(timeout=START_TIMEOUT)
    started = time.perf_counter()
    reports = [results.get(timeout=START_TIMEOUT + (options.seconds or 0) + 600)
               for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(timeout=60)
    failed = [report["failure"] for report in reports if report.get("failure")]
    if failed:
        raise RuntimeError("a desk client failed:\n" + "\n".join(failed))
    return _desk_summary(reports, elapsed, clients)


def measure_retarget(database: BenchDatabase) -> dict[str, Any]:
    """``retarget`` over the whole consortium, committed, as the worker runs it."""
    with session_factory_for(database.settings())() as session, hold_queues(session):
        before = _hold_states(session)
        session.commit()
        started, cpu = time.perf_counter(), time.process_time()
        filled = retarget(session)
        session.commit()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
        after = _hold_states(session)
        session.commit()
    return {
        "open_holds": sum(before.values()),
        "hold_states_before": before,
        "hold_states_after": after,
        "filled": filled,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "seconds_aim": {"ours": round(seconds, 3), "aim": AIMS["retarget_seconds"],
                        "meets_aim": seconds <= AIMS["retarget_seconds"]},
    }


# --- private helpers -------------------------------------------------------------------


def _share_out(generated: GeneratedConsortium, clients: int, pairs: int,
               seconds: float | None) -> list[DeskWork]:
    """Each client's pairs: copies, cards and desks no other client uses."""
    rng = random.Random(SEED)
    queued = generated.returnable_queued
    plain = generated.returnable
    wanted = len(generated.lendable) if seconds is not None else pairs
    count = min(wanted, len(generated.lendable), len(generated.cards),
                len(plain) + len(queued))
    if count < pairs and seconds is None:
        raise RuntimeError(f"the consortium has copies for {count} pairs, not {pairs}")
    returns = _mixed(rng, plain, queued, count)
    desks = {slug: [b for b in generated.branches if b.slug == slug]
             for slug in generated.municipalities}
    work = []
    for client in range(clients):
        mine = range(client, count, clients)
        work.append(DeskWork(client, [
            (generated.lendable[n], generated.cards[n], returns[n],
             *_two_desks(rng, desks)) for n in mine], seconds))
    return work


def _mixed(rng: random.Random, plain: list[str], queued: list[str], count: int) -> list[str]:
    """``count`` copies to take back, a ``QUEUED_SHARE`` of them of titles with holds."""
    from_queued = min(len(queued), round(count * QUEUED_SHARE))
    chosen = queued[:from_queued] + plain[:count - from_queued]
    rng.shuffle(chosen)
    return chosen


def _two_desks(rng: random.Random, desks: dict[str, list[BranchInfo]]
               ) -> tuple[tuple[str, str], tuple[str, str]]:
    """A lending desk, and a returning desk in another municipality half of the time."""
    slugs = list(desks)
    lending = rng.choice(desks[rng.choice(slugs)])
    if rng.random() < 0.5:
        returning = rng.choice(desks[rng.choice([s for s in slugs if s != lending.slug])])
    else:
        returning = rng.choice(desks[lending.slug])
    return ((str(lending.municipality_id), str(lending.id)),
            (str(returning.municipality_id), str(returning.id)))


def _desk_client(database: BenchDatabase, work: DeskWork, start: Any, results: Any) -> None:
    """One desk client's process: wait for the common start, then do its pairs."""
    try:
        report = _Desk(database).run(work, start)
    except Exception:  # noqa: BLE001 - a child's failure goes back to the parent, raised there
        report = {"failure": f"desk {work.client}:\n{traceback.format_exc()}"}
        start.abort()
    results.put(report)


class _Desk:
    """A librarian's desk in its own process: its session, its scope, its tallies."""

    def __init__(self, database: BenchDatabase) -> None:
        self.sessions = session_factory_for(database.settings())
        self.latencies: dict[str, list[int]] = {"checkout": [], "checkin": []}
        self.statements: Counter[str] = Counter()
        self.cpu_ns: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.sent = 0
        """SQL statements this desk's session has sent so far."""

    def run(self, work: DeskWork, start: Any) -> dict[str, Any]:
        """Every pair of ``work`` (or as many as ``work.seconds`` allow), timed."""
        with self.sessions() as session:
            ids = participant_ids(session, SERVICE)
            session.commit()
        scope = TenantScope.of(ids, crossing=CIRCULATION.name)
        with tenant_scope(scope), self.sessions() as session:
            event.listen(session.get_bind(), "before_cursor_execute", self._count)
            branches = {(str(b.municipality_id), str(b.id)): b
                        for b in session.scalars(select(Branch))}
            session.commit()
            start.wait(timeout=START_TIMEOUT)
            deadline = time.perf_counter() + work.seconds if work.seconds else None
            cpu = time.process_time()
            for lend, card, take_back, lending, returning in work.pairs:
                if deadline is not None and time.perf_counter() >= deadline:
                    break
                self._timed(session, "checkout", lambda s, b=lend, c=card, d=lending: checkout(
                    s, b, find_patron(s, c), branches[d]))
                self._timed(session, "checkin", lambda s, b=take_back, d=returning:
                            self._note(checkin(s, b, branches[d])))
            cpu_seconds = time.process_time() - cpu
        return {"latencies": self.latencies, "errors": dict(self.errors),
                "actions": dict(self.actions), "cpu_seconds": cpu_seconds,
                "statements": dict(self.statements), "cpu_ns": dict(self.cpu_ns)}

    def _timed(self, session: Any, kind: str, operation: Any) -> None:
        sent = self.sent
        started, cpu = time.perf_counter_ns(), time.process_time_ns()
        try:
            operation(session)
            session.commit()
        except Refusal as refusal:
            session.rollback()
            self.errors[f"{kind}: refused ({refusal.field})"] += 1
            return
        except Exception as error:  # noqa: BLE001 - counted: a desk carries on after a conflict
            session.rollback()
            self.errors[f"{kind}: {type(error).__name__}"] += 1
            return
        self.latencies[kind].append(time.perf_counter_ns() - started)
        self.cpu_ns[kind] += time.process_time_ns() - cpu
        self.statements[kind] += self.sent - sent

    def _count(self, *_args: Any) -> None:
        self.sent += 1

    def _note(self, done: Any) -> None:
        self.actions[f"{done.action}{' for a hold' if done.hold is not None else ''}"] += 1


def _desk_summary(reports: list[dict[str, Any]], elapsed: float, clients: int) -> dict[str, Any]:
    latencies: dict[str, list[int]] = {"checkout": [], "checkin": []}
    errors: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    statements: Counter[str] = Counter()
    cpu_ns: Counter[str] = Counter()
    for report in reports:
        for kind, timings in report["latencies"].items():
            latencies[kind] += timings
        errors.update(report["errors"])
        actions.update(report["actions"])
        statements.update(report["statements"])
        cpu_ns.update(report["cpu_ns"])
    done = sum(len(timings) for timings in latencies.values())
    ops = round(done / elapsed, 1)
    return {
        "clients": clients,
        "client_kind": "one process each (spawned), one session each",
        "operations": done,
        "pairs": min(len(latencies["checkout"]), len(latencies["checkin"])),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "checkin_actions": dict(actions),
        "holds_captured": sum(n for action, n in actions.items() if "for a hold" in action),
        "seconds": round(elapsed, 3),
        "client_cpu_seconds": round(sum(r["cpu_seconds"] for r in reports), 2),
        "latency_ms": {kind: latency_summary(timings) for kind, timings in latencies.items()},
        "statements_per_op": {kind: round(statements[kind] / len(timings), 2)
                              for kind, timings in latencies.items() if timings},
        "cpu_ms_per_op": {kind: round(cpu_ns[kind] / len(timings) / 1e6, 2)
                          for kind, timings in latencies.items() if timings},
        "ops_per_second": {"ours": ops, "aim": AIMS["ops_per_second"],
                           "meets_aim": ops >= AIMS["ops_per_second"]},
    }


def _hold_states(session: Any) -> dict[str, int]:
    rows = session.execute(select(Hold.status, func.count()).where(
        Hold.status.in_(("waiting", "in_transit", "ready"))).group_by(Hold.status)).all()
    return dict(sorted(rows))


__all__ = ["AIMS", "measure_desks", "measure_retarget", "run"]

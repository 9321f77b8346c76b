"""Searching the consortium's catalogue, in the service and over HTTP.

The consortium is generated (:mod:`bench.library_data`: 300,000 records, 1,000,000 items,
100,000 patrons, 50,000 holds; ``--quick``: 2,000 records) into a throwaway database, and a
judged mix of what patrons type is drawn from it: single common words ("kokbok",
"hemlighet"), two words of a title, author names (as free text and in the author field),
prefixes ("mars*", "lind*"), ISBNs (as ISBN-13 and hyphenated), subjects (in the subject
field), and words with facet filters (media type, language, audience, talking books, a
municipality where a copy is in now).

- ``in_service``: ``library_loans.search.query.search_records`` called directly (it opens
  the ``public_catalogue`` scope itself), one read transaction per search as a request has,
  the first page of 20 with the facets, the records and their copies. The process's
  resident index (:mod:`library_loans.search.resident`) is built first and timed
  (``resident_index``); every search then ranks anew (only the API keeps answers).
  ``by_kind`` gives each query once: latency and how many found anything. Aim: p99 at most
  50 ms.
- ``http``: the library service (``library_loans:create_app()``) served by gunicorn as
  ``bench health`` serves its apps, driven by the same keep-alive clients with
  ``GET /api/records?q=…`` (no login, like the public catalogue), the queries rotating, in
  rounds alternating with the service's own ``/healthz`` as the baseline. Warm-up first
  until each worker has built its resident index (``warmup``): the API then answers from
  what it keeps (:mod:`library_loans.search.answers`), as it does for repeated searches. Aims:
  ``rps.ratio`` (search / health) at least 0.3, and the search p99 reported.
"""

from __future__ import annotations

import os
import random
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from bench.library_data import FULL, QUICK, GeneratedConsortium, load_consortium
from bench.runner import (
    BenchDatabase,
    BenchOptions,
    compare,
    database_info,
    latency_summary,
    measure,
    serve,
    throwaway_database,
)

# The runner's ``drive`` sends one path; searching sends a different query every request.
from bench.runner.requests import drive_requests, http_get, summarise_rounds
from library_loans.access import public_catalogue
from library_loans.search import resident
from library_loans.search.query import search_records
from library_loans.search.swedish import STOP_WORDS
from services.settings_ext import session_factory_for

TARGET = "library_loans:create_app()"
SEARCH_PATH = "/api/records"
HEALTH_PATH = "/healthz"
AIMS = {"in_service_p99_ms": 50.0, "rps_ratio": 0.3}
SEED = 2480
QUERY_MIX = {"common_word": 4, "two_words": 3, "author": 3, "prefix": 2, "isbn": 2,
             "subject": 1, "with_facets": 2}
"""How often each kind of query comes up in the mixed set (what patrons type most)."""
FIXED_QUERIES: dict[str, tuple[dict[str, Any], ...]] = {
    "prefix": ({"q": "mars*"}, {"q": "hem*"}, {"q": "lind*"}, {"q": "kok*"}, {"q": "bröd*"}),
    "author": ({"q": "Lindgren"}, {"author": "Lind"}, {"q": "Astrid Lindgren"}),
    "with_facets": ({"q": "kokbok", "media_type": "book"},
                    {"q": "hemlighet", "audience": "children"},
                    {"q": "bröder", "language": "swe", "available_in": "vindeln"},
                    {"q": "roman", "talking_book": True},
                    {"q": "the", "language": "eng"}),
}
FACET_FILTERS = ({"media_type": "book"}, {"media_type": "audiobook"}, {"language": "swe"},
                 {"audience": "children"}, {"talking_book": True}, {"available_in": "umea"},
                 {"available_in": "bjurholm"})


def run(options: BenchOptions) -> dict[str, Any]:
    """Generate the consortium, then measure catalogue search in the service and over HTTP."""
    size = QUICK if options.quick else FULL
    with throwaway_database(options.db, options.database_url, seed=False) as database:
        generated, load = load_consortium(database, size)
        queries = query_set(generated, 80 if options.quick else 600)
        return {
            "database": database_info(database),
            "consortium": load,
            "queries": {"count": len(queries), "by_kind": dict(Counter(k for k, _ in queries)),
                        "examples": dict(reversed(queries))},
            "in_service": measure_in_service(database, queries, options),
            "http": compare_over_http(database, queries, options),
        }


def query_set(generated: GeneratedConsortium, count: int) -> list[tuple[str, dict[str, Any]]]:
    """``count`` (kind, search arguments) pairs in the proportions of ``QUERY_MIX``."""
    rng = random.Random(SEED)
    pools = _query_pools(generated, rng)
    kinds = [kind for kind, weight in QUERY_MIX.items() for _ in range(weight) if pools[kind]]
    return [(kind, rng.choice(pools[kind]))
            for kind in (kinds[position % len(kinds)] for position in range(count))]


def measure_in_service(database: BenchDatabase, queries: list[tuple[str, dict[str, Any]]],
                       options: BenchOptions) -> dict[str, Any]:
    """``search_records`` called in this process, one read transaction per search."""
    iterations = options.pick(options.iterations, 3000, 100)
    with session_factory_for(database.settings())() as session:
        def one(arguments: dict[str, Any]) -> Any:
            try:
                return search_records(session, **arguments)
            finally:
                session.rollback()  # one read transaction per search, as a request has

        resident_index = _wait_for_resident_index(session)
        started = time.perf_counter()
        one(queries[0][1])
        first_ms = (time.perf_counter() - started) * 1000
        by_kind = _by_kind(one, queries)
        cycle = _cycle([arguments for _, arguments in queries])
        figures = measure(lambda: one(next(cycle)), iterations=iterations,
                          warmup=min(iterations, 100), memory_iterations=min(iterations, 50))
    p99 = figures["latency_ms"]["p99"]
    return {
        "resident_index": resident_index,
        "first_search_ms": round(first_ms, 1),
        **figures,
        "by_kind": by_kind,
        "p99_ms": {"ours": p99, "aim": AIMS["in_service_p99_ms"],
                   "meets_aim": p99 is not None and p99 <= AIMS["in_service_p99_ms"]},
    }


def compare_over_http(database: BenchDatabase, queries: list[tuple[str, dict[str, Any]]],
                      options: BenchOptions) -> dict[str, Any]:
    """Search against the same service's /healthz, same server and clients, alternating."""
    workers = options.pick(options.workers, os.cpu_count() or 2, 2)
    threads = options.pick(options.threads, 4, 2)
    clients = options.pick(options.clients, 16, 4)
    rounds = options.pick(options.rounds, 5, 1)
    requests = options.pick(options.requests, 10_000, 100)
    searches = [http_get(f"{SEARCH_PATH}?{urllib.parse.urlencode(_url_arguments(a))}", None)
                for _, a in queries]
    health = [http_get(HEALTH_PATH, None)]
    with serve(TARGET, workers=workers, threads=threads, env=database.environment()) as server:
        # Each worker builds its resident index in a thread on its first search, the
        # database answering meanwhile: warm up until searches are as fast as they get.
        warmup = _warm_up(server, searches, clients, workers, options)
        if warmup["errors"]:
            raise RuntimeError(f"searches failed while warming up: {warmup['error_kinds']}\n"
                               + "\n".join(server.log_path.read_text(errors="replace")
                                           .splitlines()[-40:]))
        runs: dict[str, list[dict[str, Any]]] = {"health": [], "search": []}
        for _ in range(rounds):
            for name, batch in (("health", health), ("search", searches)):
                runs[name].append(drive_requests(server, batch, clients=clients,
                                         requests=requests // rounds, seconds=options.seconds))
        summary = {name: summarise_rounds(runs[name]) for name in runs}
        rss = server.rss_mib()
    return {
        "server": {"target": TARGET, "gunicorn_worker_class": "gthread", "workers": workers,
                   "threads": threads, "rss_mib_after_run": rss},
        "clients": clients,
        "rounds": rounds,
        "warmup": {"requests": warmup["requests"], "seconds": warmup["seconds"],
                   "rounds": warmup["rounds"], "last_round_rps": warmup["rps"]},
        **summary,
        "rps": compare(summary["search"]["rps"], summary["health"]["rps"],
                       aim=AIMS["rps_ratio"]),
        "server_cpu_us_per_request": compare(
            summary["search"]["server_cpu_us_per_request"],
            summary["health"]["server_cpu_us_per_request"], higher_is_better=False),
        "p99_ms": {"ours": summary["search"]["latency_ms"]["p99"]},
    }


# --- private helpers -------------------------------------------------------------------


def _wait_for_resident_index(session: Any) -> dict[str, Any]:
    """Start this process's resident index and wait for it: its build time and size."""
    started = time.perf_counter()
    while True:
        with public_catalogue(session):
            index = resident.index_for(session)
        session.rollback()
        if index is not None:
            return {"build_seconds": round(time.perf_counter() - started, 1),
                    "records": index.size, "tokens": len(index.tokens),
                    "postings": len(index.postings), "array_mib": round(index.nbytes / 2**20)}
        time.sleep(0.1)


def _warm_up(server: Any, searches: list[bytes], clients: int, workers: int,
             options: BenchOptions) -> dict[str, Any]:
    """Rounds of five seconds (quick: one) for at least a minute (quick: two seconds), then
    until one is no faster than the one before; at most three minutes.

    Each worker builds its index at full size in about fifteen seconds (both at once, on a
    loaded machine, longer), the database answering its searches meanwhile.
    """
    started = time.perf_counter()
    sent, rounds, previous = 0, 0, 0.0
    seconds, least = (1.0, 2.0) if options.quick else (5.0, 60.0)
    while True:
        result = drive_requests(server, searches, clients=clients,
                                requests=max(40, 10 * workers), seconds=seconds)
        sent += result["requests"]
        rounds += 1
        settled = rounds * seconds >= least and result["rps"] <= previous * 1.05
        if result["errors"] or settled or rounds * seconds >= 180:
            return {**result, "requests": sent, "rounds": rounds,
                    "seconds": round(time.perf_counter() - started, 1)}
        previous = result["rps"]


def _query_pools(generated: GeneratedConsortium,
                 rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    pools: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kind, fixed in FIXED_QUERIES.items():
        pools[kind].extend(fixed)
    common = [word for word, _ in generated.title_words.most_common(60)
              if len(word) > 2 and word.isalpha() and word not in STOP_WORDS][:20]
    pools["common_word"].extend({"q": word} for word in common)
    pools["prefix"].extend({"q": word[:4] + "*"} for word in common if len(word) > 4)
    for title in rng.sample(generated.titles, min(len(generated.titles), 500)):
        words = [word.strip(".,:;") for word in title.split()]
        words = [word for word in words if word.isalpha() and word.lower() not in STOP_WORDS]
        if len(words) >= 2:
            first = rng.randrange(len(words) - 1)
            pools["two_words"].append({"q": f"{words[first]} {words[first + 1]}"})
    for author in rng.sample(generated.authors, min(len(generated.authors), 300)):
        surname, _, given = author.partition(", ")
        pools["author"].append({"author": surname} if rng.random() < 0.5
                               else {"q": f"{given.rstrip(',')} {surname}".strip()})
    for isbn in rng.sample(generated.isbns, min(len(generated.isbns), 300)):
        typed = isbn if rng.random() < 0.7 else f"{isbn[:3]}-{isbn[3:5]}-{isbn[5:9]}-" \
                                                 f"{isbn[9:12]}-{isbn[12]}"
        pools["isbn"].append({"isbn": typed} if rng.random() < 0.5 else {"q": typed})
    for subject in rng.sample(generated.subjects, min(len(generated.subjects), 300)):
        pools["subject"].append({"subject": subject.split(" -- ")[0]})
    for word in common:
        pools["with_facets"].append({"q": word, **rng.choice(FACET_FILTERS)})
    return pools


def _by_kind(search_once: Any, queries: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each query once: latency and how many found something, per kind of query."""
    timings: dict[str, list[int]] = defaultdict(list)
    found: Counter[str] = Counter()
    for kind, arguments in queries:
        started = time.perf_counter_ns()
        page = search_once(arguments)
        timings[kind].append(time.perf_counter_ns() - started)
        found[kind] += page.total > 0
    return {kind: {"queries": len(timings[kind]), "with_hits": found[kind],
                   "latency_ms": latency_summary(timings[kind])} for kind in timings}


def _url_arguments(arguments: dict[str, Any]) -> dict[str, str]:
    return {name: ("true" if value is True else str(value)) for name, value in arguments.items()}


def _cycle(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    while True:
        yield from items

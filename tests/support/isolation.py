"""The tenant isolation harness: no route lets municipality A see, change or count B's data.

It walks the URL map of every app it is given, so a new route is covered the moment it
exists. For every route, every role (granted in A only) and anonymous callers:

* **seen** — no response to A contains an id of B's rows or a marker string of B's data;
  path parameters are filled with B's ids (uuid converters) and B's names (others).
* **counted** — every GET answer A receives is the same before and after B gets more
  data: an answer that depends on B's data at all (a count, a total, a page size, an
  "exists") differs between the two rounds.
* **changed** — no POST, PUT, PATCH or DELETE by A, aimed at B's ids or naming B in its
  body, changes any of B's rows (compared row by row, as the owner, before and after).
* **crashed** — no request the harness makes (B's ids, empty or foreign bodies, a body
  that is not JSON at all) is answered with a 5xx: bad input is the caller's 4xx.

A service adds what its data looks like with a *seeder*: a function that creates a few
representative rows for a municipality and returns marker strings found only in them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus, urlencode

from flask import Flask
from sqlalchemy import Engine, Table, inspect, select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.routing.converters import UUIDConverter
from werkzeug.test import Client

from services.audit.operations import record
from services.db import Base
from services.identity.models import ROLES
from services.identity.operations import create_user, grant_role, issue_token
from services.tenancy.models import Municipality

Seeder = Callable[[Session, Municipality], Iterable[str]]
"""Creates representative rows for a municipality and returns strings unique to them."""

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
_SIGNED_TOKEN = re.compile(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}")
_IGNORED_COLUMNS = {"last_used_at", "updated_at"}
_TIMING_KEYS = {"ms", "duration_ms"}
"""JSON keys that measure how long this request took (readiness checks), not data."""


@dataclass(frozen=True)
class Actor:
    """A caller from municipality A: a role granted in A only, or anonymous."""

    name: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Violation:
    """One way a route let A see, count or change B's data."""

    kind: str
    method: str
    url: str
    actor: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.method} {self.url} as {self.actor}: {self.detail}"


@dataclass
class IsolationHarness:
    """Checks every route of ``apps`` (prefix → app) served together by ``wsgi``."""

    wsgi: Any
    apps: dict[str, Flask]
    session: Session
    owner_engine: Engine
    home: Municipality
    other: Municipality
    seeders: list[Seeder] = field(default_factory=list)
    _markers: set[str] = field(default_factory=set)
    _first_markers: set[str] = field(default_factory=set)

    def run(self) -> list[Violation]:
        """Seed both municipalities, then check every route for every actor."""
        self._seed(self.home)
        self._seed(self.other)
        actors = self._actors()
        client = Client(self.wsgi)
        routes = list(self._routes())
        violations: list[Violation] = []
        # A first round settles what reading itself writes (an operator's audited crossing
        # is recorded once an hour), so the two rounds compared differ only by B's growth.
        self._get_round(client, routes, actors, [])
        first = self._get_round(client, routes, actors, violations)
        self._seed(self.other)  # B grows: nothing A sees may change
        second = self._get_round(client, routes, actors, violations)
        for key, answer in first.items():
            if second[key] != answer:
                method, url, actor = key
                violations.append(Violation(
                    "counted", method, url, actor,
                    "the answer changed when only the other municipality's data grew",
                ))
        violations.extend(self._mutating_round(client, routes, actors))
        return violations

    # --- arranging -----------------------------------------------------------------

    def _seed(self, municipality: Municipality) -> None:
        seeded: set[str] = set()
        for seeder in [seed_core, *self.seeders]:
            seeded |= set(seeder(self.session, municipality))
        if municipality.id == self.other.id:
            self._markers |= seeded
            self._first_markers = self._first_markers or seeded
        self.session.commit()

    def _actors(self) -> list[Actor]:
        actors = [Actor("anonymous", {})]
        for role in ROLES:
            user = create_user(self.session, f"isolation-{role.replace('_', '-')}",
                               self.home, created_by="isolation harness")
            grant_role(self.session, user, role, self.home, granted_by="isolation harness")
            secret, _ = issue_token(self.session, user, lifetime=timedelta(hours=1))
            actors.append(Actor(role, {"Authorization": f"Bearer {secret}"}))
        self.session.commit()
        return actors

    def _routes(self) -> Iterable[tuple[str, Flask, Rule]]:
        for prefix, app in self.apps.items():
            for rule in app.url_map.iter_rules():
                if rule.endpoint.rpartition(".")[2] != "static":
                    yield prefix, app, rule

    # --- the rounds ----------------------------------------------------------------

    def _get_round(self, client: Client, routes: list[tuple[str, Flask, Rule]],
                   actors: list[Actor], violations: list[Violation]
                   ) -> dict[tuple[str, str, str], tuple[int, str]]:
        answers = {}
        other_ids = self._other_ids()
        for prefix, app, rule in routes:
            if "GET" not in (rule.methods or ()):
                continue
            for url in self._urls(prefix, app, rule, other_ids, one_per_table=True,
                                  with_queries=not rule.arguments):
                for actor in actors:
                    response = client.get(url, headers={**actor.headers, "Accept": "*/*"})
                    if response.status_code >= 500:
                        violations.append(_crash("GET", url, actor, response))
                    body = _normalise(response.get_data(as_text=True))
                    answers[("GET", url, actor.name)] = (response.status_code, body)
                    leaked = self._leaked_in(body, other_ids, asked=unquote_plus(url))
                    if leaked:
                        violations.append(Violation("seen", "GET", url, actor.name,
                                                    f"the answer contains {leaked!r}"))
        return answers

    def _mutating_round(self, client: Client, routes: list[tuple[str, Flask, Rule]],
                        actors: list[Actor]) -> list[Violation]:
        violations = []
        other_ids = self._other_ids()
        bodies: list[Any] = [
            {},
            {"municipality": self.other.slug, "municipality_id": str(self.other.id)},
            "{not json",
        ]
        for prefix, app, rule in routes:
            for method in sorted((rule.methods or set()) & set(MUTATING)):
                for url in self._urls(prefix, app, rule, other_ids, one_per_table=True):
                    # One snapshot around every actor and body sent to this URL: B's rows
                    # must be the same afterwards whoever sent what (comparing after each
                    # request would cost two full snapshots per request).
                    before = self._snapshot_of_other()
                    statuses = []
                    for actor in actors:
                        for body in bodies:
                            sent = {"json": body} if isinstance(body, dict) else {
                                "data": body, "content_type": "application/json"}
                            response = client.open(url, method=method, headers=actor.headers,
                                                   **sent)
                            statuses.append(f"{actor.name}:{response.status_code}")
                            if response.status_code >= 500:
                                violations.append(_crash(method, url, actor, response))
                    if self._snapshot_of_other() != before:
                        violations.append(Violation(
                            "changed", method, url, "one of the actors",
                            f"the other municipality's rows changed ({', '.join(statuses)})",
                        ))
        return violations

    # --- what belongs to B ---------------------------------------------------------

    def _other_ids(self) -> dict[str, list[uuid.UUID]]:
        """Ids of B's rows per table: tenant rows, and B's users and their tokens."""
        ids: dict[str, list[uuid.UUID]] = {}
        with self.owner_engine.connect() as connection:
            for table in _existing_tables(connection):
                condition = self._belongs_to_other(table)
                if condition is None or "id" not in table.c:
                    continue
                # In id order (UUIDv7: oldest first), so each round picks the same rows.
                found = list(connection.scalars(
                    select(table.c.id).where(condition).order_by(table.c.id)))
                if found:
                    ids[table.name] = found
        return ids

    def _belongs_to_other(self, table: Table) -> Any:
        users = Base.metadata.tables["users"]
        if "municipality_id" in table.c and table.name != "role_grants":
            return table.c.municipality_id == self.other.id
        if "home_municipality_id" in table.c:
            return table.c.home_municipality_id == self.other.id
        if "user_id" in table.c:
            return table.c.user_id.in_(
                select(users.c.id).where(users.c.home_municipality_id == self.other.id)
            )
        return None

    def _snapshot_of_other(self) -> dict[str, list[tuple[Any, ...]]]:
        snapshot = {}
        with self.owner_engine.connect() as connection:
            for table in _existing_tables(connection):
                condition = self._belongs_to_other(table)
                columns = [c for c in table.c if c.name not in _IGNORED_COLUMNS]
                query = select(*columns)
                if condition is not None:
                    query = query.where(condition)
                elif table.name not in ("municipalities", "municipality_populations",
                                        "service_participations"):
                    continue
                rows = connection.execute(query).all()
                snapshot[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        return snapshot

    def _leaked_in(self, body: str, other_ids: dict[str, list[uuid.UUID]], *,
                   asked: str = "") -> str | None:
        """B's id or marker in ``body``, unless the caller wrote it into the URL itself."""
        for values in other_ids.values():
            for value in values:
                if (str(value) in body or value.hex in body) and str(value) not in asked:
                    return str(value)
        for marker in self._markers:
            if marker in body and marker not in asked:
                return marker
        return None

    def _urls(self, prefix: str, app: Flask, rule: Rule,
              other_ids: dict[str, list[uuid.UUID]], *, one_per_table: bool = False,
              with_queries: bool = False) -> list[str]:
        urls = self._paths(prefix, app, rule, other_ids, one_per_table)
        if not with_queries:
            return urls
        queries = [urlencode({name: value}) for name in self._query_parameters(app, rule)
                   for value in [self.other.slug, *sorted(self._first_markers)]]
        return urls + [f"{url}?{query}" for url in urls for query in queries]

    def _query_parameters(self, app: Flask, rule: Rule) -> list[str]:
        """What the route reads from the query string: its OpenAPI parameters, or ``q``.

        A search answers nothing without its query, so the harness asks each route for
        B's names and slug in every query parameter its OpenAPI operation declares; pages
        (which have no OpenAPI operation) get ``q``, the one name every search page uses.
        """
        api = app.extensions.get("samverkan_api")
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        operations = api.spec.to_dict().get("paths", {}).get(path) if api is not None else None
        if operations is None:
            return ["q"]
        return sorted({parameter["name"] for operation in operations.values()
                       if isinstance(operation, dict)
                       for parameter in operation.get("parameters", [])
                       if parameter.get("in") == "query"})

    def _paths(self, prefix: str, app: Flask, rule: Rule,
               other_ids: dict[str, list[uuid.UUID]], one_per_table: bool) -> list[str]:
        if not rule.arguments:
            return [prefix + rule.rule]
        candidates: list[dict[str, Any]] = [{}]
        for name in sorted(rule.arguments):
            values = self._values_for(rule._converters[name], other_ids, one_per_table)
            candidates = [{**partial, name: value} for partial in candidates for value in values]
        adapter = app.url_map.bind("localhost", script_name=prefix or "/")
        method = sorted(rule.methods or {"GET"})[0]
        urls = []
        for values in candidates:
            urls.append(adapter.build(rule.endpoint, values, method=method))
        return urls

    def _values_for(self, converter: Any, other_ids: dict[str, list[uuid.UUID]],
                    one_per_table: bool) -> list[Any]:
        if isinstance(converter, UUIDConverter):
            per_table = other_ids.values()
            chosen = [ids[0] for ids in per_table] if one_per_table else [
                value for ids in per_table for value in ids]
            return chosen or [uuid.uuid4()]
        return [self.other.slug, *sorted(self._first_markers)[:1]]


def seed_core(session: Session, municipality: Municipality) -> list[str]:
    """Core data of a municipality: a user with a grant and a token, and audit entries."""
    marker = f"isolation-marker-{municipality.slug}-{uuid.uuid4().hex[:8]}"
    user = create_user(session, marker, municipality, password="isolation-password",
                       display_name=marker, created_by="isolation harness")
    grant_role(session, user, "municipality_admin", municipality, granted_by="isolation harness")
    issue_token(session, user, label=marker, lifetime=timedelta(days=1))
    record(session, "isolation.seeded", municipality_id=municipality.id, actor=marker,
           subject=marker, details={"marker": marker})
    return [marker]


def _crash(method: str, url: str, actor: Actor, response: Any) -> Violation:
    return Violation("crashed", method, url, actor.name,
                     f"status {response.status_code}: {response.get_data(as_text=True)[:200]}")


def _existing_tables(connection: Any) -> list[Table]:
    names = set(inspect(connection).get_table_names())
    return [table for table in Base.metadata.sorted_tables if table.name in names]


def _normalise(body: str) -> str:
    # CSRF tokens are signed with a timestamp and differ on every page view; they say
    # nothing about whose data a page shows.
    body = _SIGNED_TOKEN.sub("<signed>", body)
    try:
        return json.dumps(_without_timings(json.loads(body)), sort_keys=True)
    except ValueError:
        return body


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value

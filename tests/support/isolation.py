"""The tenant isolation harness: no route lets municipality A see, change or count B's data.

It walks the URL map of every app it is given, so a new route is covered the moment it
exists. For every route, every role (granted in A only), anonymous callers and the actors
services contribute (a library patron of A, logged in with the patron cookie):

* **seen** — no response to A contains an id of B's rows or a marker string of B's data;
  path parameters are filled with B's ids (uuid converters) and B's names (others).
* **counted** — every GET answer A receives is the same before and after B gets more
  data: an answer that depends on B's data at all (a count, a total, a page size, an
  "exists") differs between the two rounds.
* **changed** — no POST, PUT, PATCH or DELETE by A, aimed at B's ids or naming B in its
  body, changes any of B's rows (compared row by row, as the owner, before and after).
  Besides empty and foreign bodies, a route whose OpenAPI operation takes a JSON body is
  sent bodies with B's markers in every text field (a barcode, a card number).
* **crashed** — no request the harness makes (B's ids, empty or foreign bodies, a body
  that is not JSON at all) is answered with a 5xx: bad input is the caller's 4xx.

A service adds what its data looks like with a *seeder*: a function that creates a few
representative rows for a municipality and returns marker strings found only in them. A
tuple of markers is one row's (a patron's card number and name): see crossings below.
A service adds callers with an *actor factory*: ``(session, home) -> Actor | None`` (None
when the service cannot log such a caller in yet).

**Declared crossings.** Some routes reach B's data on purpose, in a named scope: the
library's desk lends and takes back any municipality's copies (an audited crossing), the
public catalogue counts every library's copies. The harness does not take a route's word
for it: while each request runs it watches which named scopes the statements run in
(``TenantScope.crossing``), and only what a :class:`DeclaredCrossing` given to the harness
allows is excused, for that request only:

* ``reaches`` — the tables whose rows of B a request inside the crossing may change (and
  it may append to B's audit log). A change to any other of B's tables is still
  ``changed``; so is every change by a request that entered no declared crossing (strict
  by default: an undeclared crossing excuses nothing).
* ``audited`` — such a crossing writes ``crossing.entered`` under B (at most once an hour
  per user, so the harness checks that B's audit log holds one for the crossing at all
  once a request inside it changed B's rows; none is ``changed``: an unaudited crossing).
* ``public`` — what it shows is everyone's (copies on the shelves): its GET answers may
  depend on B's data, so ``counted`` does not apply to requests inside it.
* ``shows_ids`` — tables whose ids of B are public inside it (the branches a patron may
  choose to pick a hold up at); B's markers are never excused by it.
* ``shows_asked`` — asked for one of B's rows by a marker of a group (a librarian types
  B's patron's card number), the answer may show that group's other markers (the name).
  Every other marker of B is still ``seen``: a check-in of B's copy must not name B's
  patron whose hold it fills, nor a transit list anyone's card.
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
from sqlalchemy import Engine, Table, event, inspect, select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.routing.converters import UUIDConverter
from werkzeug.test import Client

from services.audit.operations import record
from services.db import Base
from services.identity.models import ROLES
from services.identity.operations import create_user, grant_role, issue_token
from services.settings_ext import extension
from services.tenancy import scope_or_none
from services.tenancy.models import Municipality

Marker = str | tuple[str, ...]
"""A string unique to B's rows, or a group of them that identify one row together."""
Seeder = Callable[[Session, Municipality], Iterable[Marker]]
"""Creates representative rows for a municipality and returns strings unique to them."""

MUTATING = ("POST", "PUT", "PATCH", "DELETE")
_SIGNED_TOKEN = re.compile(r"[\w-]{20,}\.[\w-]{5,}\.[\w-]{20,}")
_IGNORED_COLUMNS = {"last_used_at", "updated_at"}
_TIMING_KEYS = {"ms", "duration_ms"}
"""JSON keys that measure how long this request took (readiness checks), not data."""
_AUDIT_TABLE = "audit_entries"
_JSON_TEXT_FORMATS = {None, "email"}
"""OpenAPI string formats the harness fills with B's markers (not ids, dates, URLs)."""


@dataclass(frozen=True)
class Actor:
    """A caller from municipality A: a role granted in A only, or anonymous."""

    name: str
    headers: dict[str, str]


ActorFactory = Callable[[Session, Municipality], "Actor | None"]
"""Creates a caller of the home municipality a service knows how to log in."""


@dataclass(frozen=True)
class DeclaredCrossing:
    """A named cross-tenant scope and what a request inside it may do to B (see above)."""

    name: str
    reaches: tuple[str, ...] = ()
    audited: bool = False
    public: bool = False
    shows_ids: tuple[str, ...] = ()
    shows_asked: bool = False


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
    actor_factories: list[ActorFactory] = field(default_factory=list)
    crossings: list[DeclaredCrossing] = field(default_factory=list)
    _markers: set[str] = field(default_factory=set)
    _first_markers: set[str] = field(default_factory=set)
    _groups: list[tuple[str, ...]] = field(default_factory=list)
    _entered: set[str] = field(default_factory=set)

    def run(self) -> list[Violation]:
        """Seed both municipalities, then check every route for every actor."""
        self._seed(self.home)
        self._seed(self.other)
        actors = self._actors()
        client = Client(self.wsgi)
        routes = list(self._routes())
        violations: list[Violation] = []
        event.listen(Session, "do_orm_execute", self._note_crossing)
        event.listen(Session, "before_flush", self._note_crossing)
        try:
            # A first round settles what reading itself writes (an operator's audited
            # crossing is recorded once an hour), so the two rounds compared differ only
            # by B's growth.
            self._get_round(client, routes, actors, [])
            first = self._get_round(client, routes, actors, violations)
            self._seed(self.other)  # B grows: nothing A sees may change
            second = self._get_round(client, routes, actors, violations)
            for key, (answer, public) in first.items():
                if second[key][0] != answer and not public:
                    method, url, actor = key
                    violations.append(Violation(
                        "counted", method, url, actor,
                        "the answer changed when only the other municipality's data grew",
                    ))
            violations.extend(self._mutating_round(client, routes, actors))
        finally:
            event.remove(Session, "before_flush", self._note_crossing)
            event.remove(Session, "do_orm_execute", self._note_crossing)
        return violations

    # --- arranging -----------------------------------------------------------------

    def _writing(self) -> Session:
        """A session that takes SQLite's write lock as it begins, as the apps' sessions do.

        The run's worker commits while the harness arranges (the tasks its seeding and
        requests queue: a hold made ready tells its patron); a deferred session that has
        read and then writes after such a commit is refused by SQLite ("database is
        locked"), where one that began with the lock would only have waited.
        """
        app = next(iter(self.apps.values()))
        return extension(app).session_factory()

    def _seed(self, municipality: Municipality) -> None:
        seeded: set[str] = set()
        groups = []
        with self._writing() as session:
            for seeder in [seed_core, *self.seeders]:
                for marker in seeder(session, municipality):
                    if isinstance(marker, tuple):
                        groups.append(marker)
                        seeded |= set(marker)
                    else:
                        seeded.add(marker)
            session.commit()
        if municipality.id == self.other.id:
            self._markers |= seeded
            self._groups += groups
            self._first_markers = self._first_markers or seeded

    def _actors(self) -> list[Actor]:
        actors = [Actor("anonymous", {})]
        with self._writing() as session:
            for role in ROLES:
                user = create_user(session, f"isolation-{role.replace('_', '-')}",
                                   self.home, created_by="isolation harness")
                grant_role(session, user, role, self.home, granted_by="isolation harness")
                secret, _ = issue_token(session, user, lifetime=timedelta(hours=1))
                actors.append(Actor(role, {"Authorization": f"Bearer {secret}"}))
            session.commit()
            for factory in self.actor_factories:
                actor = factory(session, self.home)
                if actor is not None:
                    actors.append(actor)
            session.commit()
        return actors

    # --- declared crossings --------------------------------------------------------

    def _note_crossing(self, *_event: Any) -> None:
        scope = scope_or_none()
        if scope is not None and scope.crossing is not None:
            self._entered.add(scope.crossing)

    def _declared(self, entered: Iterable[str]) -> list[DeclaredCrossing]:
        """The declared crossings among the named scopes a request ran statements in."""
        names = set(entered)
        return [crossing for crossing in self.crossings if crossing.name in names]

    def _open(self, client: Client, url: str, method: str, actor: Actor, **sent: Any
              ) -> tuple[Any, list[DeclaredCrossing]]:
        """The response, and the declared crossings the request entered."""
        self._entered = set()
        response = client.open(url, method=method, headers=actor.headers, **sent)
        return response, self._declared(self._entered)

    def _asked(self, asked: str, crossings: list[DeclaredCrossing]) -> str:
        """What the caller named, with the markers of any group it named by one of them
        when a crossing entered may show what was asked for."""
        if any(crossing.shows_asked for crossing in crossings):
            for group in self._groups:
                if any(marker in asked for marker in group):
                    asked += "\n" + "\n".join(group)
        return asked

    def _unexcused_changes(self, before: dict[str, list[tuple[Any, ...]]],
                           after: dict[str, list[tuple[Any, ...]]],
                           crossings: list[DeclaredCrossing]) -> list[str]:
        """The tables of B that changed beyond what the crossings entered may change."""
        changed = sorted(name for name in set(before) | set(after)
                         if before.get(name) != after.get(name))
        reached = {table for crossing in crossings for table in crossing.reaches}
        if crossings:
            reached.add(_AUDIT_TABLE)
        problems = [name for name in changed if name not in reached]
        if changed:
            problems += [f"{crossing.name} without a crossing.entered audit entry"
                         for crossing in crossings
                         if crossing.audited and not self._audited(crossing)]
        return problems

    def _audited(self, crossing: DeclaredCrossing) -> bool:
        entries = Base.metadata.tables[_AUDIT_TABLE]
        with self.owner_engine.connect() as connection:
            return connection.scalar(select(entries.c.id).where(
                entries.c.municipality_id == self.other.id,
                entries.c.action == "crossing.entered",
                entries.c.subject == crossing.name).limit(1)) is not None

    def _routes(self) -> Iterable[tuple[str, Flask, Rule]]:
        for prefix, app in self.apps.items():
            for rule in app.url_map.iter_rules():
                if rule.endpoint.rpartition(".")[2] != "static":
                    yield prefix, app, rule

    # --- the rounds ----------------------------------------------------------------

    def _get_round(self, client: Client, routes: list[tuple[str, Flask, Rule]],
                   actors: list[Actor], violations: list[Violation]
                   ) -> dict[tuple[str, str, str], tuple[tuple[int, str], bool]]:
        answers = {}
        other_ids = self._other_ids()
        for prefix, app, rule in routes:
            if "GET" not in (rule.methods or ()):
                continue
            for url in self._urls(prefix, app, rule, other_ids, one_per_table=True,
                                  with_queries=not rule.arguments):
                for actor in actors:
                    response, crossings = self._open(
                        client, url, "GET", Actor(actor.name, {**actor.headers, "Accept": "*/*"}))
                    if response.status_code >= 500:
                        violations.append(_crash("GET", url, actor, response))
                    body = _normalise(response.get_data(as_text=True))
                    public = any(crossing.public for crossing in crossings)
                    answers[("GET", url, actor.name)] = ((response.status_code, body), public)
                    leaked = self._leaked_in(body, other_ids, crossings=crossings,
                                             asked=self._asked(unquote_plus(url), crossings))
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
                marked = self._bodies_with_markers(app, rule, method)
                urls = self._urls(prefix, app, rule, other_ids, one_per_table=True)
                for index, url in enumerate(urls):
                    # One snapshot around every actor and body sent to this URL: B's rows
                    # must be the same afterwards whoever sent what (comparing after each
                    # request would cost two full snapshots per request).
                    before = self._snapshot_of_other()
                    statuses: list[str] = []
                    entered: dict[str, DeclaredCrossing] = {}
                    for actor in actors:
                        plain = [self._send(client, method, url, actor, body, other_ids,
                                            violations, entered) for body in bodies]
                        statuses += [f"{actor.name}:{status}" for status in plain]
                        # B's markers in the body, once per route (B's ids are in the other
                        # URLs), to every actor the route does not turn away whatever it sends.
                        for body in marked if index == 0 and not set(plain) <= {401, 403} else []:
                            status = self._send(client, method, url, actor, body, other_ids,
                                                violations, entered)
                            statuses.append(f"{actor.name}:{status}")
                    problems = self._unexcused_changes(before, self._snapshot_of_other(),
                                                       list(entered.values()))
                    if problems:
                        violations.append(Violation(
                            "changed", method, url, "one of the actors",
                            f"the other municipality's rows changed in {', '.join(problems)} "
                            f"({', '.join(statuses)})",
                        ))
        return violations

    def _send(self, client: Client, method: str, url: str, actor: Actor, body: Any,
              other_ids: dict[str, list[uuid.UUID]], violations: list[Violation],
              entered: dict[str, DeclaredCrossing]) -> int:
        """Send ``body``; note a crash, a leak and the declared crossings entered; the status."""
        sent = {"json": body} if isinstance(body, dict) else {
            "data": body, "content_type": "application/json"}
        response, crossings = self._open(client, url, method, actor, **sent)
        entered.update((crossing.name, crossing) for crossing in crossings)
        if response.status_code >= 500:
            violations.append(_crash(method, url, actor, response))
        asked = self._asked(f"{unquote_plus(url)}\n{json.dumps(body)}", crossings)
        leaked = self._leaked_in(_normalise(response.get_data(as_text=True)), other_ids,
                                 asked=asked, crossings=crossings)
        if leaked:
            violations.append(Violation("seen", method, url, actor.name,
                                        f"the answer to {body!r} contains {leaked!r}"))
        return response.status_code

    def _bodies_with_markers(self, app: Flask, rule: Rule, method: str) -> list[dict[str, str]]:
        """JSON bodies naming B: each of B's first markers in every text field the route's
        OpenAPI operation takes (none for a route without a JSON body)."""
        schema = self._operation(app, rule).get(method.lower(), {}).get(
            "requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        properties = self._resolved(app, schema or {}).get("properties", {})
        texts = [name for name, prop in properties.items()
                 if "string" in _types(prop) and prop.get("format") in _JSON_TEXT_FORMATS]
        if not texts:
            return []
        return [dict.fromkeys(texts, marker) for marker in sorted(self._first_markers)]

    def _operation(self, app: Flask, rule: Rule) -> dict[str, Any]:
        """The route's OpenAPI path item (its operations by method), or {} for a page."""
        api = app.extensions.get("samverkan_api")
        if api is None:
            return {}
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        return api.spec.to_dict().get("paths", {}).get(path) or {}

    def _resolved(self, app: Flask, schema: dict[str, Any]) -> dict[str, Any]:
        reference = schema.get("$ref")
        if reference is None:
            return schema
        components = app.extensions["samverkan_api"].spec.to_dict().get("components", {})
        return components.get("schemas", {}).get(reference.rpartition("/")[2], {})

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
                   asked: str = "", crossings: Iterable[DeclaredCrossing] = ()) -> str | None:
        """B's id or marker in ``body``, unless the caller wrote it into the URL itself or
        a crossing the request entered shows that table's ids."""
        public = {table for crossing in crossings for table in crossing.shows_ids}
        for table, values in other_ids.items():
            if table in public:
                continue
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
        operations = self._operation(app, rule)
        if not operations:
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


def _types(prop: dict[str, Any]) -> list[str]:
    """The JSON types an OpenAPI property allows (3.1 gives a list for nullable ones)."""
    kind = prop.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


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

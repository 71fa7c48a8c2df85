"""The one scope rewrite: every query path turns a ``Plan`` into a ``ScopedPlan`` here.

A ``Scope`` is the set of municipalities whose citizens' events a principal may see in
aggregates (an event belongs to the municipality of residence on its date). ``apply_scope``
restricts every query of a plan to that set (intersected with a comparison area); SQL can only
be generated from a ``ScopedQuery``, and a ``ScopedQuery`` can only be made here, so no path can
reach an engine without the rewrite. An empty scope is refused: default deny.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from koes.query.plan import AggregateQuery, Area, BaseCount, Narrowing, Plan

_REWRITE = object()  # only this module holds it; constructors check it


class ScopeDeniedError(PermissionError):
    """The principal may not see any data (no valid grant)."""


@dataclass(frozen=True)
class Scope:
    kommuner: frozenset[int]  # aggregate-level: events of citizens resident here
    exact: frozenset[int] = frozenset()  # individual-level: exact figures for these citizens
    # True only when `kommuner` is every municipality there is: then "resident in one of them" is
    # "resident in Denmark" (a validated kommunekode), which SQL can test without a 98-value list.
    everywhere: bool = False

    def fingerprint(self) -> str:
        """A short stable hash, part of every cache key and audit record."""
        text = ",".join(map(str, sorted(self.kommuner))) + "|" + ",".join(map(str, sorted(self.exact)))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ScopedQuery:
    query: AggregateQuery
    kommuner: frozenset[int]  # the scope, within the query's comparison area
    token: object
    everywhere: bool = False  # `kommuner` is every municipality: any resident's event is in scope

    def __post_init__(self) -> None:
        if self.token is not _REWRITE:
            raise TypeError("a ScopedQuery is made only by koes.query.scope.apply_scope")


@dataclass(frozen=True)
class ScopedPlan:
    plan: Plan
    scope: Scope
    queries: tuple[ScopedQuery, ...]
    token: object

    def __post_init__(self) -> None:
        if self.token is not _REWRITE:
            raise TypeError("a ScopedPlan is made only by koes.query.scope.apply_scope")

    @property
    def exact(self) -> bool:
        """True when every row the plan can read belongs to the principal's own citizens."""
        return bool(self.scope.exact) and all(q.kommuner <= self.scope.exact for q in self.queries)

    def kommuner_by_area(self) -> dict[str | None, frozenset[int]]:
        """The municipalities each block reads (comparison area id, None without one): a table
        lists every one of them, those without events as zeros (``koes.query.members``)."""
        out: dict[str | None, frozenset[int]] = {}
        for q in self.queries:
            area = q.query.area.id if q.query.area else None
            out[area] = out.get(area, frozenset()) | q.kommuner
        return out

    def exact_for(self, area: Area | None) -> bool:
        """True when every row one comparison area (or the plan without areas) can read belongs to
        the principal's own citizens: that block is exact, the others are protected as for anyone."""
        mine = [q for q in self.queries if (q.query.area.id if q.query.area else None) == (area.id if area else None)]
        return bool(self.scope.exact) and bool(mine) and all(q.kommuner <= self.scope.exact for q in mine)


def apply_scope(plan: Plan, scope: Scope) -> ScopedPlan:
    if not scope.kommuner:
        raise ScopeDeniedError("no grant gives access to data")
    wanted = plan.request.filter_values("kommune")
    queries = []
    for query in plan.queries:
        allowed = scope.kommuner if query.area is None else scope.kommuner & query.area.kommuner
        if wanted is not None:  # a municipality filter narrows the scope; it never widens it
            allowed = allowed & frozenset(int(k) for k in wanted)
        everywhere = scope.everywhere and allowed == scope.kommuner
        queries.append(ScopedQuery(query, frozenset(allowed), _REWRITE, everywhere))
    return ScopedPlan(plan, scope, tuple(queries), _REWRITE)


def narrowed(scoped: ScopedQuery, *, base_count: BaseCount, narrowing: Narrowing | None = None) -> ScopedQuery:
    """The same scoped query, counting its bases another way and, with ``narrowing``, over fewer rows.

    Only how a query counts and how many of its rows it reads may change here: the scope, the
    period, the filters and the segment stay as the rewrite made them, so a narrowed query never
    sees a row its original could not."""
    if narrowing is not None and scoped.query.narrowing is not None:
        raise ValueError("a narrowed query is not narrowed again")
    narrowing = scoped.query.narrowing if narrowing is None else narrowing
    query = dataclasses.replace(scoped.query, base_count=base_count, narrowing=narrowing)
    return ScopedQuery(query, scoped.kommuner, _REWRITE, scoped.everywhere)

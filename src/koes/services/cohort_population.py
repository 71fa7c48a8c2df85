"""A cohort as the population of an analysis: found for its user, resolved on the release, big enough.

The analysis never reads the cohort store: a ``CohortLookup`` (the store's service) hands it a
``CohortPopulation`` for a principal, or raises ``CohortNotFoundError`` when the cohort does not
exist, has expired or is not the principal's to use (one error for all three, so nobody learns
that another organisation's cohort exists). The members' pseudonyms are matched to the release's
person ids by one query with the members as a registered table (never as SQL text); what comes out
is the generic population table the query layer joins to (``koes.query.plan.Population``).

A cohort, or a group of it that a request shows or picks, with fewer persons in the release than
``cohort_min_size`` gives no figures at all: ``RequestError`` on the field ``cohort`` says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from koes.appdb.database import AppDatabase
from koes.cohorts.population import CohortPopulation
from koes.engines.base import Engine
from koes.privacy.access import Principal
from koes.query.plan import (
    POPULATION_GROUP,
    POPULATION_INDEX_MONTH,
    POPULATION_PERSON,
    POPULATION_TABLE,
    Population,
)
from koes.query.request import AnalysisRequest, FieldProblem, RequestError
from koes.semantic.model import POPULATION_MEMBERS, Catalog
from koes.services.audit import AuditTrail
from koes.services.cohort_store import CohortService
from koes.services.errors import ForbiddenError, NotFoundError
from koes.settings import Settings

MAX_MONTHS = 36  # the furthest month before or after the index date a table lists
MEMBERS = "cohort_members"  # the members' table, registered for the resolving query only
PERSON_SCHEMA = pa.schema(
    [(POPULATION_PERSON, pa.int64()), (POPULATION_GROUP, pa.string()), (POPULATION_INDEX_MONTH, pa.int32())]
)

# The release's person id of each member found in it, with the member's group. A pseudonym is one
# person: the join cannot give a member twice (persons.pseudonym is unique per release).
RESOLVE_SQL = f"""
SELECT p.person_id AS {POPULATION_PERSON}, m.gruppe AS {POPULATION_GROUP},
  CAST(year(m.index_date) * 12 + month(m.index_date) AS INTEGER) AS {POPULATION_INDEX_MONTH}
FROM {MEMBERS} m JOIN persons p ON p.pseudonym = m.pseudonym
"""


class CohortNotFoundError(NotFoundError):
    """No such cohort for this principal: unknown, expired or deleted, or not shared with them."""

    def __init__(self, cohort_id: str) -> None:
        super().__init__(f"no cohort {cohort_id!r} for you: it does not exist, has expired or is not shared with you")
        self.cohort_id = cohort_id


class CohortLookup(Protocol):
    """What the analysis needs of the cohort store: one cohort for one principal.

    ``population`` returns the cohort when the principal may use it (its owner, or a colleague of
    the same organisation it is shared with, holding ``individ``) and it has not expired; otherwise
    it raises ``CohortNotFoundError``. ``cohorts`` lists the cohorts ``population`` would return
    for the principal (for the builder's choice of population). Neither records anything: the
    analysis audits each use."""

    def population(self, principal: Principal, cohort_id: str) -> CohortPopulation: ...

    def cohorts(self, principal: Principal) -> Sequence[CohortChoice]: ...

    def check_counted(self, cohort: CohortPopulation, picked: Sequence[str | None] | None) -> None:
        """The differencing guard for figures: ``RequestError`` when the persons counted (the groups
        ``picked``, None: the whole cohort) differ from another published group by a handful."""
        ...


class CohortChoice(Protocol):
    """A cohort as a choice of population: its id, its name and its size (members kept)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...


class StoredCohorts:
    """The cohort store (``CohortService``) as the analysis' ``CohortLookup``. The store records
    each hand-over of members as a use (``cohort.use``); the analysis records what it showed."""

    def __init__(self, store: CohortService) -> None:
        self.store = store

    def population(self, principal: Principal, cohort_id: str) -> CohortPopulation:
        try:
            return self.store.population(principal, cohort_id)
        except (NotFoundError, ForbiddenError):
            raise CohortNotFoundError(cohort_id) from None

    def cohorts(self, principal: Principal) -> Sequence[CohortChoice]:
        """The cohorts ``population`` hands over: own and shared, not every one a local
        administrator may delete."""
        try:
            listed = self.store.list(principal)
        except ForbiddenError:
            return []
        return [c for c in listed if c.owned or principal.user in c.shared_with]

    def check_counted(self, cohort: CohortPopulation, picked: Sequence[str | None] | None) -> None:
        self.store.check_counted(cohort, picked)


def cohort_store(settings: Settings, database: AppDatabase | None) -> CohortLookup | None:
    """The deployment's cohort store, for ``koes query``; None without an app database (then every
    request naming a cohort is answered "not found")."""
    if database is None:
        return None
    return StoredCohorts(CohortService(settings, AuditTrail(database)))


@dataclass(frozen=True)
class GivenPopulation:
    """A cohort resolved on a release: what the planner, the engine and the audit need of it."""

    population: Population  # for the planner (id, groups)
    table: pa.Table  # PERSON_SCHEMA: one row per member found in the release
    purpose: str  # the cohort's purpose, recorded with every use
    sizes: Mapping[str | None, int]  # persons per group (None: no group given)
    dated: int = 0  # persons with an index date

    @property
    def size(self) -> int:
        return int(self.table.num_rows)

    @property
    def tables(self) -> dict[str, pa.Table]:
        return {POPULATION_TABLE: self.table}


def resolve(cohort: CohortPopulation, engine: Engine) -> GivenPopulation:
    """The cohort's members found in the release, as the population table of the query layer."""
    rows = engine.execute_with(RESOLVE_SQL, {MEMBERS: cohort.member_table()})
    table = pa.table(
        {
            POPULATION_PERSON: pa.array([r[POPULATION_PERSON] for r in rows], pa.int64()),
            POPULATION_GROUP: pa.array([r[POPULATION_GROUP] for r in rows], pa.string()),
            POPULATION_INDEX_MONTH: pa.array([r[POPULATION_INDEX_MONTH] for r in rows], pa.int32()),
        },
        schema=PERSON_SCHEMA,
    )
    sizes = Counter(r[POPULATION_GROUP] for r in rows)
    groups = tuple(sorted(g for g in sizes if g is not None))
    dated = sum(1 for r in rows if r[POPULATION_INDEX_MONTH] is not None)
    population = Population(cohort.id, groups, tuple(range(-MAX_MONTHS, MAX_MONTHS + 1)))
    return GivenPopulation(population, table, cohort.purpose, dict(sizes), dated)


def check_size(given: GivenPopulation, request: AnalysisRequest, catalog: Catalog, minimum: int) -> None:
    """Refuse a cohort, or a group the request shows or picks, of fewer than ``minimum`` persons."""
    if given.size < minimum:
        raise RequestError([_too_small("cohort_too_small", minimum, f"the cohort has fewer than {minimum} persons")])

    months = [d for d, _ in request.filters if _of_population(catalog, d, POPULATION_INDEX_MONTH)]
    months += [d for d in request.dimensions if _of_population(catalog, d, POPULATION_INDEX_MONTH)]
    if months and given.dated < minimum:
        text = f"fewer than {minimum} persons of the cohort have an index date"
        raise RequestError([_too_small("cohort_dated_too_small", minimum, text)])

    used = [d for d in request.dimensions if _of_population(catalog, d)]
    picked: tuple[str, ...] = picked_groups(request, catalog) or ()
    # The groups whose figures the answer shows: those picked by a filter, else every group shown.
    groups: list[str | None] = list(picked) if picked else list(given.sizes) if used else []
    small = [g for g in groups if given.sizes.get(g, 0) < minimum]
    if small:
        names = ", ".join("(uden gruppe)" if g is None else repr(g) for g in small)
        text = f"group(s) {names} have fewer than {minimum} persons"
        raise RequestError([_too_small("cohort_group_too_small", minimum, text, names)])


def picked_groups(request: AnalysisRequest, catalog: Catalog) -> tuple[str, ...] | None:
    """The cohort groups a filter of the request picks; None when no filter narrows the cohort."""
    picked = tuple(str(v) for d, values in request.filters if _of_population(catalog, d) for v in values)
    return picked or None


def _of_population(catalog: Catalog, dimension_id: str, column: str = POPULATION_GROUP) -> bool:
    members = catalog.dimensions[dimension_id].members
    return members.kind == POPULATION_MEMBERS and members.name == column


def _too_small(code: str, minimum: int, text: str, groups: str = "") -> FieldProblem:
    params = (("minimum", str(minimum)),) + ((("groups", groups),) if groups else ())
    return FieldProblem("cohort", f"{text}: no figures are shown for it (cohort_min_size)", code, params)

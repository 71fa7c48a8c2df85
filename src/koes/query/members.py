"""The members a table lists: every member of its dimensions, whether it has events or not.

Zeros are zeros. A municipality (or any member of a dimension) without events is a row of true
zeros in tables, charts, maps and exports, not a missing row or a blank: the engine returns only
the combinations it finds, so the members come from the catalog (``koes.semantic.members``),
narrowed to what the request can see:

* a period dimension (year, quarter, month): the members within the request's period;
* the municipality of residence: the municipalities of the block's scope (the principal's scope,
  within the comparison area and any municipality filter); the region: their regions under the
  plan's geography (as it was over 2026–2027: five regions and Region Østdanmark);
* a population's dimension (a cohort's groups): the population's groups;
* any other dimension: its members, within the request's filter on it and the perspective's fixed
  filter (the psychiatry perspective lists no somatic sector).

A dimension marked ``all_members: false`` (a long list such as ICD-10 categories) or with open
members lists only the members with events. Pure: no engine, no user.
"""

from __future__ import annotations

import itertools
from typing import Any

from koes.query.geography import regions_of
from koes.query.plan import Plan
from koes.query.request import Period
from koes.semantic.members import geography, members
from koes.semantic.model import POPULATION_MEMBERS, Dimension

Key = tuple[Any, ...]


def all_keys(dims: tuple[Dimension, ...], plan: Plan, kommuner: frozenset[int] | None) -> list[Key]:
    """Every combination of the listed members of ``dims`` (none when one of them lists only the
    members with events). ``kommuner``: the block's scope, None when unknown (then municipalities
    and regions list only those with events)."""
    lists = [listed(d, plan, kommuner) for d in dims]
    if not dims or any(values is None for values in lists):
        return []
    return list(itertools.product(*(values for values in lists if values is not None)))


def listed(dimension: Dimension, plan: Plan, kommuner: frozenset[int] | None) -> tuple[Any, ...] | None:
    """The members of ``dimension`` a table of ``plan`` lists; None: only those with events."""
    if not dimension.all_members:
        return None
    if dimension.attributes == ("kommunekode",) and dimension.members.kind == "refdata":
        if kommuner is None:
            return None
        values: tuple[Any, ...] = _residence(dimension, kommuner, plan)
    elif dimension.members.kind == POPULATION_MEMBERS:
        if plan.population is None:
            return None
        values = plan.population.members_of(dimension.members.name)
    else:
        values = tuple(m.value for m in members(dimension, plan.period.years))
        if dimension.members.kind == "period":
            values = tuple(v for v in values if _within(dimension, v, plan.period))
        fixed = _fixed(dimension, plan)
        if fixed is not None:
            values = tuple(v for v in values if str(v) in fixed)
    wanted = plan.request.filter_values(dimension.id)
    if wanted is not None:
        values = tuple(v for v in values if v in wanted)
    return values


def _residence(dimension: Dimension, kommuner: frozenset[int], plan: Plan) -> tuple[Any, ...]:
    if dimension.members.name == "regions":  # the regions of the plan's geography over its period
        return tuple(sorted(regions_of(geography(), plan.geography, kommuner, plan.period.years)))
    return tuple(sorted(kommuner))


def _fixed(dimension: Dimension, plan: Plan) -> frozenset[str] | None:
    """The perspective's fixed values of a plain-attribute dimension (sector = psykiatri)."""
    if dimension.lookup is not None or dimension.expr is not None:
        return None
    for query in plan.queries:
        for attribute, values in query.fixed:
            if attribute == dimension.attribute:
                return frozenset(values)
    return None


def _within(dimension: Dimension, value: int, period: Period) -> bool:
    """A year, quarter (20231) or month (202301) member that overlaps the period."""
    if dimension.members.name == "year":
        first, last = value * 100 + 1, value * 100 + 12
    elif dimension.members.name == "quarter":
        year, quarter = divmod(value, 10)
        first, last = year * 100 + 3 * quarter - 2, year * 100 + 3 * quarter
    else:
        first = last = value
    return first <= period.last and last >= period.first

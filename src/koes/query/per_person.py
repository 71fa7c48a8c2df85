"""Distinct persons counted from rows grouped per person first (two passes instead of one).

A one-pass query counts the persons behind a cell with ``COUNT(DISTINCT person)`` (and sums their
record keys with ``SUM(DISTINCT person)``) in every grouping set. An engine answers a distinct
aggregate under grouping sets with a hash table of (set, cell, person) per distinct aggregate
beside the main one, and at national scale that costs about nine tenths of the query.

The same figures come from two plain aggregations:

1. group the rows by each grouping set *plus the person* (``GROUPING SETS ((cell…, person), …)``):
   every partial is an ordinary aggregate (``SUM``, ``COUNT``, ``MAX``), and a distinct target
   ``CASE WHEN w THEN person END`` becomes ``MAX`` of itself: the person when any of their rows in
   that cell satisfies ``w``, else NULL;
2. group those rows by cell (and grouping flags): counts and sums add up (``SUM``), largest values
   stay largest (``MAX``), and each person is one row per cell, so ``COUNT`` and ``SUM`` of the
   partial person give the distinct persons and the sum of their ids (the cell key's raw sum).

A margin (the cell totalled over months, say) is its own grouping set keyed by person, so a person
with rows in several months is one row there and is counted once: exactly what ``COUNT(DISTINCT)``
gives. Only targets that are the person or NULL can be rewritten; a query counting person-units
(``u_unit``) keeps its one pass (``rewrite`` returns None).
"""

from __future__ import annotations

import sqlglot.expressions as exp

PARTIAL = "a_"  # the first pass's partial aggregates: a_0, a_1, …


def rewrite(one_pass: exp.Select, person: str) -> exp.Select | None:
    """The two-pass form of ``one_pass`` (a select of grouped columns and aggregates over the
    subquery ``t``, grouped by grouping sets or not at all), or None when it counts nothing
    distinct or counts something other than ``person`` distinctly."""
    if not any(isinstance(a.this, exp.Distinct) for a in one_pass.find_all(exp.Count, exp.Sum)):
        return None
    partials = _Partials(person)
    second: list[exp.Expr] = []
    first: list[exp.Expr] = []
    keys: list[exp.Expr] = []
    for column in one_pass.expressions:
        name = column.alias_or_name
        inner = column.this if isinstance(column, exp.Alias) else column
        # A dimension or stratum value, or a grouping flag (carried as a value of the first pass).
        if isinstance(inner, (exp.Column, exp.Grouping)):
            first.append(column.copy())
            second.append(exp.column(name))
            keys.append(exp.column(name))
        else:
            combined = partials.combine(inner)
            if combined is None:
                return None
            second.append(exp.alias_(combined, name))
    first += [exp.alias_(tree, alias) for alias, tree in partials.first_pass()]
    source = one_pass.args["from_"].this.copy()
    per_person = exp.select(*first).from_(source, copy=False)
    per_person = per_person.group_by(_with_person(one_pass.args.get("group"), person), copy=False)
    outer = exp.select(*second).from_(per_person.subquery("t", copy=False), copy=False)
    return outer.group_by(*keys, copy=False) if keys else outer


def _with_person(group: exp.Group | None, person: str) -> exp.Expr:
    """The one pass's grouping, each set widened by the person."""
    if group is None:
        return exp.column(person)
    (sets,) = group.expressions
    assert isinstance(sets, exp.GroupingSets)
    widened = [[*(e.copy() for e in s.expressions), exp.column(person)] for s in sets.expressions]
    return exp.GroupingSets(expressions=[exp.Tuple(expressions=w) for w in widened])


class _Partials:
    """The first pass's aggregates, one per distinct partial (the n_ and kn_ of a measure share one)."""

    def __init__(self, person: str) -> None:
        self.person = person
        self._by_sql: dict[str, tuple[str, exp.Expr]] = {}

    def first_pass(self) -> list[tuple[str, exp.Expr]]:
        return list(self._by_sql.values())

    def combine(self, tree: exp.Expr) -> exp.Expr | None:
        """``tree`` (aggregates under arithmetic) over the first pass's partials; None if one cannot be split."""
        failed: list[exp.Expr] = []

        def split(node: exp.Expr) -> exp.Expr:
            if not isinstance(node, exp.AggFunc):
                return node
            combined = self._split(node)
            if combined is None:
                failed.append(node)
                return node
            return combined

        out = tree.copy().transform(split)
        return None if failed else out

    def _split(self, node: exp.AggFunc) -> exp.Expr | None:
        target = node.this
        if isinstance(target, exp.Distinct):
            (value,) = target.expressions
            if not self._persons_or_null(value) or not isinstance(node, (exp.Count, exp.Sum)):
                return None
            partial = self._partial(exp.Max(this=value.copy()))
            return exp.Count(this=partial) if isinstance(node, exp.Count) else exp.func("SUM", partial)
        if isinstance(node, (exp.Sum, exp.Count)):
            return exp.func("SUM", self._partial(node))
        if isinstance(node, (exp.Max, exp.Min)):
            return node.__class__(this=self._partial(node))
        return None

    def _partial(self, aggregate: exp.Expr) -> exp.Column:
        sql = aggregate.sql()
        if sql not in self._by_sql:
            self._by_sql[sql] = (f"{PARTIAL}{len(self._by_sql)}", aggregate.copy())
        return exp.column(self._by_sql[sql][0])

    def _persons_or_null(self, value: exp.Expr) -> bool:
        """Whether ``value`` is the person, or the person under a condition (NULL otherwise)."""
        if isinstance(value, exp.Column):
            return value.name == self.person
        if isinstance(value, exp.Case) and value.args.get("default") is None:
            return all(self._persons_or_null(i.args["true"]) for i in value.args["ifs"])
        return False

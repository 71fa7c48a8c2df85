"""Neutral SQL expressions in the catalog, parsed once by SQLGlot and rendered per engine.

Catalog authors write small expressions (``admission AND acute``, ``year * 100 + month``) over a
source's columns. They are parsed here into SQLGlot trees; the query layer qualifies the columns
and renders them for DuckDB or Spark. Only plain column references, literals, arithmetic,
comparisons, boolean logic, CAST and FLOOR are allowed, so an expression means the same on
every engine and cannot reach outside its table.
"""

from __future__ import annotations

import sqlglot
import sqlglot.expressions as exp
from sqlglot.errors import ParseError

ALLOWED: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Not,
    exp.And,
    exp.Or,
    exp.Is,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Neg,
    exp.Cast,
    exp.DataType,
    exp.Floor,
)


class ExpressionError(ValueError):
    """An expression in the catalog that cannot be used; the message says why."""


def parse_expression(text: object) -> exp.Expr:
    if isinstance(text, bool):
        return exp.Boolean(this=text)
    if not isinstance(text, str | int | float) or (isinstance(text, str) and not text.strip()):
        raise ExpressionError(f"expected an SQL expression, got {text!r}")
    try:
        tree = sqlglot.parse_one(str(text))
    except ParseError as error:
        raise ExpressionError(f"cannot parse {text!r}: {error.errors[0]['description']}") from None
    bad = sorted({type(node).__name__ for node in tree.walk() if not isinstance(node, ALLOWED)})
    if bad:
        raise ExpressionError(
            f"{text!r} uses {', '.join(bad)}; only columns, literals, arithmetic and logic are allowed"
        )
    return tree


def columns_of(tree: exp.Expr) -> frozenset[str]:
    return frozenset(column.name for column in tree.find_all(exp.Column))

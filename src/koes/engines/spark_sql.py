"""The load's DuckDB SQL, run on Spark: one source, transpiled statement by statement with SQLGlot.

The load (``koes.etl``) writes its SQL once, in DuckDB's dialect, against a connection. On Spark
that connection is a :class:`SparkConnection`: each statement is parsed as DuckDB SQL, the few
constructs SQLGlot cannot map by itself are rewritten on the syntax tree (:func:`to_spark`), and
the result runs in the load's own Spark session. Tables become temporary views of checkpointed
data frames (Spark has no writable temporary tables), views stay views, macros are inlined where
they are called, and a DuckDB ``ENUM`` type becomes plain text (Parquet stores both as strings).

Nothing here logs SQL text: statements can hold key material (the pseudonymisation HMAC pads).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlglot
import sqlglot.expressions as exp
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T  # noqa: N812 - the usual spelling

# DuckDB strptime formats the load uses, in Spark's (Java) datetime pattern letters.
_STRPTIME = {"%d": "dd", "%m": "MM", "%Y": "yyyy", "%H": "HH", "%M": "mm", "%S": "ss"}
_ARROW_TO_SPARK = {
    "string": "string",
    "large_string": "string",
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "double": "double",
    "bool": "boolean",
    "date32[day]": "date",
}
_MACRO = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+TEMP\s+MACRO\s", re.I)
_ENUM = re.compile(r"^\s*CREATE\s+TYPE\s+(\w+)\s+AS\s+ENUM\s*\((.*)\)\s*$", re.I | re.S)
_IGNORED = re.compile(r"^\s*(SET|ATTACH|DETACH|USE|CHECKPOINT)\b", re.I)


class SparkSQLError(RuntimeError):
    """A load statement failed on Spark; the message names the statement kind, never its values."""


@dataclass
class _Macro:
    params: list[str]
    body: exp.Expression


@dataclass
class SparkConnection:
    """Just enough of a DuckDB connection for the load's SQL: execute, fetch, register."""

    spark: SparkSession
    macros: dict[str, _Macro] = field(default_factory=dict)
    enums: dict[str, list[str]] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)
    _rows: list[tuple[Any, ...]] = field(default_factory=list)

    # --- the DuckDB connection surface the load uses -------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> SparkConnection:
        if params:
            raise SparkSQLError("parameters are not supported on Spark; use executemany for rows")
        self._rows = []
        if _IGNORED.match(sql):
            return self
        if _MACRO.match(sql):
            self._define_macro(sql)
            return self
        if enum := _ENUM.match(sql):
            self._define_enum(enum.group(1), enum.group(2))
            return self
        tree = _parse(sql)
        self._run(tree)
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> SparkConnection:
        tree = _parse(sql)
        if not isinstance(tree, exp.Insert):
            raise SparkSQLError("executemany supports INSERT … VALUES only")
        name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
        frame = self.spark.createDataFrame([tuple(r) for r in rows], self.spark.table(name).schema)
        self._append(name, frame)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)

    def register(self, name: str, table: Any) -> None:
        """An Arrow table as a temporary view (reference data: small)."""
        schema = ", ".join(f"`{f.name}` {_ARROW_TO_SPARK[str(f.type)]}" for f in table.schema)
        rows = [tuple(r.values()) for r in table.to_pylist()]
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        for name in list(self.tables):
            self.spark.catalog.dropTempView(name)
        self.tables.clear()

    # --- helpers for Spark-specific steps --------------------------------------------------------

    def sql(self, duckdb_sql: str) -> DataFrame:
        """A DuckDB SELECT as a Spark data frame."""
        return self.spark.sql(self.translate(_parse(duckdb_sql)))

    def translate(self, tree: exp.Expression) -> str:
        return to_spark(self._expand_star_replace(tree), self.macros, self.enums).sql(dialect="spark")

    def _expand_star_replace(self, tree: exp.Expression) -> exp.Expression:
        """``SELECT * REPLACE (e AS c) FROM t`` (DuckDB only): the columns of ``t``, with ``c`` replaced."""
        for star in list(tree.find_all(exp.Star)):
            replace = star.args.get("replace")
            select = star.parent
            if not replace or not isinstance(select, exp.Select):
                continue
            source = select.find(exp.Table)
            assert source is not None, "SELECT * REPLACE needs a table to take the columns of"
            by_name = {r.alias: r for r in replace}
            columns = [by_name.get(c, exp.column(c)) for c in self.spark.table(source.name).columns]
            select.set("expressions", columns)
        return tree

    def put(self, name: str, frame: DataFrame) -> None:
        """Make ``frame`` the table ``name``, materialised (a later statement may replace its sources)."""
        frame.localCheckpoint(eager=True).createOrReplaceTempView(name)
        self.tables.add(name)

    # --- statements ------------------------------------------------------------------------------

    def _run(self, tree: exp.Expression) -> None:
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            self._create_table(tree)
        elif isinstance(tree, exp.Create) and tree.kind == "VIEW":
            name = tree.this.name
            self.spark.sql(self.translate(tree.expression)).createOrReplaceTempView(name)
        elif isinstance(tree, exp.Insert):
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            self._append(target.name, self.spark.sql(self.translate(tree.expression)))
        elif isinstance(tree, exp.Drop):
            for table in tree.find_all(exp.Table):
                self.spark.catalog.dropTempView(table.name)
                self.tables.discard(table.name)
        elif isinstance(tree, exp.Describe):
            frame = (
                self.spark.table(tree.this.name)
                if isinstance(tree.this, exp.Table)
                else self.sql(tree.this.sql("duckdb"))
            )
            self._rows = [(f.name, f.dataType.simpleString().upper(), "YES") for f in frame.schema.fields]
        elif isinstance(tree, exp.Query):
            self._rows = [tuple(r) for r in self.spark.sql(self.translate(tree)).collect()]
        else:
            raise SparkSQLError(f"no Spark translation for a {type(tree).__name__} statement")

    def _create_table(self, tree: exp.Create) -> None:
        if isinstance(tree.this, exp.Schema):  # CREATE TABLE t (column type, …): an empty table
            name = tree.this.this.name
            columns = ", ".join(
                f"`{c.name}` {c.args['kind'].sql(dialect='spark')}"
                for c in tree.this.expressions
                if isinstance(c, exp.ColumnDef)
            )
            self.put(name, self.spark.createDataFrame([], columns))
            return
        query = tree.expression
        if isinstance(query, exp.Select):
            query = query.copy()
            query.set("order", None)  # a Spark table keeps no row order; facts are sorted when written
        self.put(tree.this.name, self.spark.sql(self.translate(query)))

    def _append(self, name: str, frame: DataFrame) -> None:
        current = self.spark.table(name)
        self.put(name, current.unionByName(frame.toDF(*current.columns)))

    def _define_macro(self, sql: str) -> None:
        tree = _parse(sql)
        assert isinstance(tree, exp.Create)
        udf = tree.this
        params = [p.name for p in udf.expressions]
        self.macros[udf.this.name.lower()] = _Macro(params, to_spark(tree.expression, self.macros, self.enums))

    def _define_enum(self, name: str, values_sql: str) -> None:
        rows = self.spark.sql(self.translate(_parse(values_sql))).collect()
        self.enums[name.lower()] = sorted(str(r[0]) for r in rows if r[0] is not None)


def _parse(sql: str) -> exp.Expression:
    return cast(exp.Expression, sqlglot.parse_one(sql, read="duckdb"))


def to_spark(tree: exp.Expression, macros: dict[str, _Macro], enums: dict[str, list[str]]) -> exp.Expression:
    """Rewrite what SQLGlot's DuckDB → Spark mapping leaves for us to decide."""

    def inner(node: exp.Expression) -> exp.Expression:
        """A replaced node's parts: SQLGlot does not descend into what a rewrite returns."""
        return node.transform(rewrite)

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name in macros:
                return _inline(macros[name], [inner(a) for a in node.expressions])
            if name == "enum_range":
                kind = node.expressions[0].to.args.get("kind")
                return exp.Array(expressions=[exp.Literal.string(v) for v in enums[str(kind).lower()]])
            if name == "try_strptime":
                text, fmt = node.expressions
                java = fmt.this
                for duck, spark in _STRPTIME.items():
                    java = java.replace(duck, spark)
                return exp.Anonymous(this="try_to_timestamp", expressions=[inner(text), exp.Literal.string(java)])
        if isinstance(node, exp.DayOfWeekIso):  # Monday = 1 … Sunday = 7; Spark's weekday() has Monday = 0
            return exp.Paren(
                this=exp.Add(
                    this=exp.Anonymous(this="weekday", expressions=[inner(node.this)]), expression=exp.Literal.number(1)
                )
            )
        if isinstance(node, exp.Round) and isinstance(node.this.unnest(), exp.Div) and node.args.get("decimals"):
            # A quotient is a DOUBLE on DuckDB, which rounds its binary value to decimals (0.355 is
            # 0.35499… → 0.35); Spark rounds its decimal text half up (→ 0.36), and no Spark form rounds
            # the binary value. Refused rather than off by a step: round whole units of a scaled
            # quotient instead (round(seconds / 36.0) / 100), which both engines round alike.
            raise SparkSQLError("ROUND of a quotient to decimals differs on Spark; round a scaled quotient to units")
        if isinstance(node, exp.Div):
            # DuckDB's / divides in floating point whatever the operand types; Spark's keeps decimals
            # decimal (12 / 12.0 would be a DECIMAL rounded to six places).
            return exp.Div(this=_double(inner(node.this)), expression=inner(node.expression))
        if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
            # NOT DuckDB's hash: the values differ (see the load's record-key note). Non-negative, so a
            # key reduced modulo 2**bits stays in [0, 2**bits) as on DuckDB.
            hashed = exp.Anonymous(this="xxhash64", expressions=[inner(a) for a in node.expressions])
            return exp.Paren(this=exp.BitwiseAnd(this=hashed, expression=exp.Literal.number(2**63 - 1)))
        if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
            return inner(_series_table(node.this, node.args.get("alias")))
        if isinstance(node, exp.RegexpFullMatch):  # Spark's RLIKE finds; anchoring makes it match whole
            anchored = exp.Literal.string(f"^(?:{node.expression.this})$")
            return exp.RegexpLike(this=inner(node.this), expression=anchored)
        user_type = isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED
        if user_type and str(node.args.get("kind", "")).lower() in enums:
            return exp.DataType.build("STRING")
        if isinstance(node, exp.Cast) and _is_hex_literal(node.this):
            digits = inner(node.this.unnest().expression)
            return exp.Cast(
                this=exp.Anonymous(this="conv", expressions=[digits, exp.Literal.number(16), exp.Literal.number(10)]),
                to=node.to,
            )
        return node

    return tree.copy().transform(rewrite).transform(_lift_nested_explode)


def _lift_nested_explode(node: exp.Expression) -> exp.Expression:
    """``SELECT f(unnest(list))``: Spark wants a generator at the top of the select list, so a
    nested one becomes a LATERAL VIEW (a subquery when there is no FROM) and ``f`` reads its column."""
    if not isinstance(node, exp.Select):
        return node
    nested = [
        e
        for e in node.find_all(exp.Explode)
        if not isinstance(e.parent, exp.Alias | exp.Select) and e.find_ancestor(exp.Select) is node
    ]
    for i, explode in enumerate(nested):
        column = f"_unnested{i}"
        generator = explode.copy()
        explode.replace(exp.column(column))
        if not node.args.get("from_"):
            inner = exp.select(exp.alias_(generator, column))
            node.from_(exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("_u"))), copy=False)
        else:
            alias = exp.TableAlias(this=exp.to_identifier(f"_lv{i}"), columns=[exp.to_identifier(column)])
            node.append("laterals", exp.Lateral(this=generator, view=True, alias=alias))
    return node


def _double(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))


def _series_table(series: exp.GenerateSeries, alias: exp.TableAlias | None) -> exp.Expression:
    """``generate_series(…) g(d)`` / ``range(…) a(age)`` in FROM: a subquery exploding Spark's ``sequence``."""
    end = series.args["end"]
    if series.args.get("is_end_exclusive"):
        end = exp.Sub(this=end.copy(), expression=exp.Literal.number(1))
    args = [series.args["start"].copy(), end]
    if series.args.get("step") is not None:
        args.append(series.args["step"].copy())
    column = alias.columns[0].name if alias is not None and alias.columns else "generate_series"
    name = alias.name if alias is not None else "generate_series"
    values = exp.Explode(this=exp.Anonymous(this="sequence", expressions=args))
    select = exp.select(exp.alias_(values, column))
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _is_hex_literal(node: exp.Expression) -> bool:
    """``'0x' || digits``: DuckDB reads the text as a hexadecimal number when cast to an integer."""
    inner = node.unnest()
    return isinstance(inner, exp.DPipe) and isinstance(inner.this, exp.Literal) and inner.this.this == "0x"


def _inline(macro: _Macro, args: list[exp.Expression]) -> exp.Expression:
    values = dict(zip(macro.params, args, strict=True))

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in values:
            return exp.Paren(this=values[node.name].copy())
        return node

    return exp.Paren(this=macro.body.copy().transform(put))


def spark_types(schema: T.StructType) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in schema.fields}

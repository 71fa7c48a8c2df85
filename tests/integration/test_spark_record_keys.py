"""Record keys, cell keys and perturbed counts are the same whether DuckDB or Spark loads the release.

A small release (persons with pseudonyms, contacts with a natural key of every column type the
registers use, NULLs included) is keyed on both engines by the same SQL: written once in DuckDB's
dialect, as the load writes it, and transpiled to Spark by SQLGlot with the one rewrite the Spark
load applies to it (``CAST('0x' || digits AS BIGINT)`` → ``conv(digits, 16, 10)``). Person ids,
event keys, cell keys of a ``GROUPING SETS`` query and the counts the perturbation table publishes
must agree row for row, and agree with the Python reference derivation.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pytest
import sqlglot
import sqlglot.expressions as exp

if os.environ.get("CI"):
    import pyspark  # noqa: F401

    assert shutil.which("java"), "Spark needs Java: make test installs default-jre-headless"
else:
    pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install -e '.[spark]'")
    if shutil.which("java") is None:  # pragma: no cover - make test installs a JRE
        pytest.skip("Spark needs Java (apt-get install default-jre-headless)", allow_module_level=True)

from pyspark.sql import SparkSession

from koes.engines.spark import QUICK_START_JAVA_OPTIONS, local_session
from koes.privacy.count_table import generate_ptable
from koes.privacy.record_keys import RecordKeys, fixed_point

pytestmark = pytest.mark.xdist_group("spark")

KEYS = RecordKeys.derive(b"k" * 32)
PERSONS_SCHEMA = "serial BIGINT, pseudonym STRING"
CONTACTS_SCHEMA = (
    "contact_id BIGINT, serial BIGINT, diag STRING, sector STRING, day DATE, start_ts TIMESTAMP_NTZ, "
    "kroner DOUBLE, kommune SMALLINT, sex STRING"
)


def _release(n_persons: int = 300, n_contacts: int = 4000) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rng = random.Random(14)
    persons = [(i + 1, hashlib.sha256(f"p{i}".encode()).hexdigest()) for i in range(n_persons)]
    contacts = []
    for c in range(n_contacts):
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(365))
        contacts.append(
            (
                10_000_000_000 + c * 7919,  # register keys run past 2**32
                rng.randrange(n_persons) + 1,
                None if rng.random() < 0.1 else rng.choice(["DI21", "DJ44", "DS72", "DÆ1"]),
                rng.choice(["somatik", "psykiatri"]),
                day,
                datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), rng.randrange(60)),
                None if rng.random() < 0.1 else rng.choice([0.0, 1234.5, 12_345_678.25, 0.0001, -3.75]),
                rng.choice([101, 147, 851]),
                rng.choice(["K", "M"]),
            )
        )
    return persons, contacts


def _statements() -> list[str]:
    person_id = KEYS.person_id_sql("p.serial", "p.pseudonym")
    rk = KEYS.event_key_sql(
        "lpr_kontakter",
        "c.contact_id",
        KEYS.person_key_of_id_sql("p.person_id"),
        "c.diag",
        "c.sector",
        "c.day",
        "c.start_ts",
        fixed_point("c.kroner"),
    )
    m = KEYS.modulus
    return [
        f"CREATE TABLE keyed_persons AS SELECT p.serial, {person_id} AS person_id FROM persons p",
        f"""CREATE TABLE facts AS SELECT c.contact_id, p.person_id, {rk} AS rk, c.kommune, c.sex
            FROM contacts c JOIN keyed_persons p ON p.serial = c.serial""",
        f"""SELECT kommune, sex, grouping(kommune) * 2 + grouping(sex) AS g, count(*) AS n, sum(rk) % {m} AS ck,
                   count(DISTINCT person_id) AS persons, sum(DISTINCT person_id) % {m} AS person_ck
            FROM facts GROUP BY GROUPING SETS ((kommune, sex), (kommune), ())""",
    ]


def _to_spark(duckdb_sql: str) -> str:
    def hex_cast(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Cast):
            return node
        inner = node.this.unnest()
        if isinstance(inner, exp.DPipe) and isinstance(inner.this, exp.Literal) and inner.this.this == "0x":
            conv = exp.Anonymous(
                this="conv", expressions=[inner.expression, exp.Literal.number(16), exp.Literal.number(10)]
            )
            return exp.Cast(this=conv, to=node.to)
        return node

    return sqlglot.parse_one(duckdb_sql, read="duckdb").transform(hex_cast).sql(dialect="spark")


def _run_duckdb(persons: list[tuple[Any, ...]], contacts: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE persons (serial BIGINT, pseudonym VARCHAR)")
    con.execute(
        "CREATE TABLE contacts (contact_id BIGINT, serial BIGINT, diag VARCHAR, sector VARCHAR, day DATE, "
        "start_ts TIMESTAMP, kroner DOUBLE, kommune SMALLINT, sex VARCHAR)"
    )
    con.executemany("INSERT INTO persons VALUES (?, ?)", persons)
    con.executemany("INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", contacts)
    keyed, facts, cells = _statements()
    con.execute(keyed)
    con.execute(facts)
    return {
        "persons": con.execute("SELECT serial, person_id FROM keyed_persons ORDER BY serial").fetchall(),
        "facts": con.execute("SELECT contact_id, person_id, rk FROM facts ORDER BY contact_id").fetchall(),
        "cells": sorted(con.execute(cells).fetchall(), key=repr),
    }


def _run_spark(
    spark: SparkSession, persons: list[tuple[Any, ...]], contacts: list[tuple[Any, ...]]
) -> dict[str, list[tuple[Any, ...]]]:
    spark.createDataFrame(persons, PERSONS_SCHEMA).createOrReplaceTempView("persons")
    spark.createDataFrame(contacts, CONTACTS_SCHEMA).createOrReplaceTempView("contacts")
    keyed, facts, cells = _statements()
    for create in (keyed, facts):
        tree = sqlglot.parse_one(create, read="duckdb")
        assert isinstance(tree, exp.Create)
        spark.sql(_to_spark(tree.expression.sql("duckdb"))).createOrReplaceTempView(tree.this.name)

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in spark.sql(_to_spark(sql)).collect()]

    return {
        "persons": rows("SELECT serial, person_id FROM keyed_persons ORDER BY serial"),
        "facts": rows("SELECT contact_id, person_id, rk FROM facts ORDER BY contact_id"),
        "cells": sorted(rows(cells), key=repr),
    }


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    yield local_session(app_name="koes-record-keys", java_options=QUICK_START_JAVA_OPTIONS)


def test_both_engines_key_and_perturb_a_release_identically(spark: SparkSession) -> None:
    persons, contacts = _release()
    on_duckdb = _run_duckdb(persons, contacts)
    on_spark = _run_spark(spark, persons, contacts)

    assert on_spark["persons"] == on_duckdb["persons"]
    assert [KEYS.person_key(p) for _, p in persons] == [pid % KEYS.modulus for _, pid in on_duckdb["persons"]]
    assert on_spark["facts"] == on_duckdb["facts"]
    assert len({rk for _, _, rk in on_duckdb["facts"]}) > 3000  # keys spread over 2**16, not a constant
    assert on_spark["cells"] == on_duckdb["cells"]

    table = generate_ptable()

    def published(cells: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [
            (kommune, sex, g, table.perturb(n, ck, KEYS.bits), table.perturb(p, pck, KEYS.bits))
            for kommune, sex, g, n, ck, p, pck in cells
        ]

    assert published(on_spark["cells"]) == published(on_duckdb["cells"])
    assert len(on_duckdb["cells"]) == 6 + 3 + 1


def test_the_keys_follow_the_documented_derivation() -> None:
    """The reference a third engine would implement: MD5 of secret|kind|parts, NULL as ``<null>``,
    dates and timestamps in ISO form, doubles with six decimals."""
    persons, contacts = _release(20, 50)
    on_duckdb = _run_duckdb(persons, contacts)
    facts, person_ids = on_duckdb["facts"], dict(on_duckdb["persons"])
    by_id = {c[0]: c for c in contacts}
    for contact_id, person_id, rk in facts:
        _, serial, diag, sector, day, start_ts, kroner, _, _ = by_id[contact_id]
        assert person_id == person_ids[serial]
        parts = [
            str(contact_id),
            str(person_ids[serial] % KEYS.modulus),
            diag,
            sector,
            day.isoformat(),
            start_ts.isoformat(sep=" "),
            None if kroner is None else f"{kroner:.6f}",
        ]
        assert rk == KEYS.event_key("lpr_kontakter", *parts)

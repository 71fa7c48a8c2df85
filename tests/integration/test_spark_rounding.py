"""A stay's hours are rounded the same on DuckDB and on Spark, ties included.

``stays.hours`` is derived by the load's DuckDB SQL, run as it is on DuckDB and transpiled on Spark.
Durations of every second over four hours either way (each of the 400 ties of hundredths of an
hour among them) must give the same hours on both engines, and the hours a person would compute:
seconds / 3600 to two decimals, a tie away from zero.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

if os.environ.get("CI"):
    import pyspark  # noqa: F401

    assert shutil.which("java"), "Spark needs Java: make test installs default-jre-headless"
else:
    pytest.importorskip("pyspark", reason="the Spark engine is optional: pip install -e '.[spark]'")
    if shutil.which("java") is None:  # pragma: no cover - make test installs a JRE
        pytest.skip("Spark needs Java (apt-get install default-jre-headless)", allow_module_level=True)

import sqlglot
from sqlglot import exp

from koes.engines.spark import QUICK_START_JAVA_OPTIONS, local_session
from koes.engines.spark_sql import SparkConnection, SparkSQLError, to_spark
from koes.etl.derive.hospital import STAY_HOURS

pytestmark = pytest.mark.xdist_group("spark")

SPAN = 4 * 3600  # seconds either way: 4 h of ties, negative durations included
DURATIONS = (
    "SELECT TIMESTAMP '2023-01-02 00:30:00' AS start_ts,"
    f" TIMESTAMP '2023-01-02 00:30:00' + s * INTERVAL 1 SECOND AS end_ts FROM range(-{SPAN}, {SPAN} + 1) r(s)"
)
QUERY = f"SELECT date_diff('second', x.start_ts, x.end_ts) AS seconds, {STAY_HOURS} AS hours FROM x ORDER BY seconds"


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkConnection]:
    connection = SparkConnection(local_session("local[2]", java_options=QUICK_START_JAVA_OPTIONS))
    yield connection
    connection.close()


def _hours_as_written(seconds: int) -> float:
    hours = (Decimal(abs(seconds)) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(hours if seconds >= 0 else -hours)


def test_stay_hours_are_the_same_on_both_engines_at_every_tie(spark: SparkConnection) -> None:
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE x AS {DURATIONS}")
    spark.execute(f"CREATE OR REPLACE TABLE x AS {DURATIONS}")
    on_duckdb = duck.execute(QUERY).fetchall()
    on_spark = spark.execute(QUERY).fetchall()
    assert len(on_duckdb) == 2 * SPAN + 1
    assert on_spark == on_duckdb
    assert dict(on_duckdb)[1278] == 0.36  # 0.355 h: 0.35499… in binary, rounded up all the same
    assert [(s, h) for s, h in on_duckdb if h != _hours_as_written(s)] == []


def test_a_quotient_rounded_to_decimals_is_refused_on_spark() -> None:
    """Spark cannot round a double's binary value to decimals as DuckDB does: no silent step of 0.01."""
    tree = sqlglot.parse_one("SELECT round(seconds / 3600.0, 2) AS hours FROM x", read="duckdb")
    assert isinstance(tree, exp.Expression)
    with pytest.raises(SparkSQLError, match="ROUND of a quotient"):
        to_spark(tree, {}, {})

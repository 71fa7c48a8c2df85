"""Members linked to a release by pseudonym: found or not, and where they stand on the reference date.

The pseudonyms go to the engine as a table registered for one query (never as SQL text), and the
query joins them to the release's ``persons`` and ``residence``. What comes back per line is
whether the person is in the release, and whether they are the user's citizen on the reference
date; for former citizens, whether they died or emigrated. Nothing is said about where members
outside the user's municipality live, or whether they died: they are "not resident" and count
only in aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

import pyarrow as pa

from koes.cohorts.report import Linked, ReportBuilder
from koes.cohorts.rows import Member, Residence

UPLOAD_TABLE = "cohort_upload"
_RESIDENCE = {r.value: r for r in Residence}  # a dict lookup: Enum(value) is slow for 100,000 rows
EMIGRATED_STATUS = "80"  # CPR status: udrejst (domain-notes §2.1)

# One row per uploaded line: NULL where the pseudonym is not in the release, else where the person
# stands on the reference date. Former citizens (last residence in the user's municipality) are
# told apart as deceased or emigrated; everyone else outside the municipality is "not resident".
LINK_SQL = """
WITH m AS (
  SELECT u.line, p.person_id, p.death_date, CAST(p.status AS VARCHAR) AS status
  FROM {upload} u LEFT JOIN persons p ON p.pseudonym = u.pseudonym
),
r AS (
  SELECT person_id, kommunekode, til
  FROM residence
  WHERE fra <= DATE '{day}' AND person_id IN (SELECT person_id FROM m WHERE person_id IS NOT NULL)
  QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY fra DESC) = 1  -- max_by would skip a NULL til
)
SELECT m.line,
  CASE
    WHEN m.person_id IS NULL THEN NULL
    WHEN coalesce(m.death_date <= DATE '{day}', false) THEN
      CASE WHEN r.kommunekode = {municipality} THEN 'deceased' ELSE 'not_resident' END
    WHEN r.person_id IS NOT NULL AND (r.til IS NULL OR r.til > DATE '{day}') THEN
      CASE WHEN r.kommunekode = {municipality} THEN 'resident' ELSE 'not_resident' END
    WHEN r.kommunekode = {municipality} AND m.status = '{emigrated}' THEN 'emigrated'
    ELSE 'not_resident'
  END AS residence
FROM m LEFT JOIN r USING (person_id)
"""


class LinkingEngine(Protocol):
    """What linkage needs of an engine: a query over the release with tables of our own beside it."""

    release_id: str

    def execute_with(self, sql: str, tables: Mapping[str, Any]) -> list[Mapping[str, Any]]: ...


def link(
    members: Sequence[Member],
    engine: LinkingEngine,
    municipality: int,
    reference_date: date,
    report: ReportBuilder,
    last_day: date | None = None,
) -> tuple[list[Member], Linked]:
    """The members found in the release, each with its residence; the others refused as not found."""
    table = pa.table(
        {"line": pa.array([m.line for m in members], pa.int64()), "pseudonym": [m.pseudonym for m in members]}
    )
    sql = LINK_SQL.format(
        upload=UPLOAD_TABLE, day=reference_date.isoformat(), municipality=int(municipality), emigrated=EMIGRATED_STATUS
    )
    outcome = {row["line"]: row["residence"] for row in engine.execute_with(sql, {UPLOAD_TABLE: table})}
    kept: list[Member] = []
    for m in members:
        code = outcome[m.line]
        if code is None:
            report.refuse(m.line, "not_found", "not_found")
            continue
        residence = _RESIDENCE[code]
        if residence is not Residence.RESIDENT:
            report.note(m.line, residence.value)
        if last_day is not None and m.index_date is not None and m.index_date > last_day:
            report.note(m.line, "index_date_after_release")
        kept.append(Member(m.line, m.pseudonym, m.birth_date, m.sex, m.index_date, m.group, m.reference, residence))
    own = sum(1 for m in kept if m.residence is Residence.RESIDENT)
    return kept, Linked(engine.release_id, reference_date.isoformat(), municipality, own)

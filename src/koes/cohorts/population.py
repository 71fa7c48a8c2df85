"""A kept cohort as the analysis sees it: who (pseudonyms), from when (index dates), in which group.

This is the seam between keeping cohorts (upload, storage, expiry, sharing) and analysing them
(cohort as a population in every perspective, profile, before and after, individual table). The
store hands the analysis a ``CohortPopulation``; the analysis never reads the store, and the store
never counts. Pseudonyms link to every release through ``persons.pseudonym``; the release's
``person_id`` is found at query time, so a cohort outlives the release it was uploaded against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from koes.cohorts.rows import Member

MEMBER_SCHEMA = pa.schema(
    [
        ("line", pa.int32()),  # the line of the uploaded file: how the user finds the row again
        ("pseudonym", pa.string()),
        ("index_date", pa.date32()),  # NULL where the file gave none
        ("gruppe", pa.string()),  # NULL where the file gave none
        ("reference", pa.string()),  # the user's own reference (a case number), NULL where none
    ]
)


@dataclass(frozen=True)
class CohortPopulation:
    """One kept cohort. ``organisation`` is "kommune:101"-style, the owner's organisation."""

    id: str
    name: str
    owner: str
    organisation: str
    purpose: str
    created_at: datetime
    expires_at: datetime
    members: tuple[Member, ...]

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def groups(self) -> tuple[str, ...]:
        """The group labels given in the file, sorted; empty when the file had no group column."""
        return tuple(sorted({m.group for m in self.members if m.group is not None}))

    def member_table(self) -> pa.Table:
        """The members as an Arrow table (``MEMBER_SCHEMA``), to register beside a release's tables."""
        return members_table(self.members)


def members_table(members: Sequence[Member]) -> pa.Table:
    """Members as an Arrow table of ``MEMBER_SCHEMA``; never a CPR number, only pseudonyms."""
    return pa.table(
        {
            "line": [m.line for m in members],
            "pseudonym": [m.pseudonym for m in members],
            "index_date": [m.index_date for m in members],
            "gruppe": [m.group for m in members],
            "reference": [m.reference for m in members],
        },
        schema=MEMBER_SCHEMA,
    )

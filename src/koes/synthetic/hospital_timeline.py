"""Time inside and between hospital stays: the contacts a stay is cut into, and keeping stays apart.

A stay's *contact plan* holds up to three contacts (emergency department, ward, ward after a
transfer; or an emergency visit and a clinic; or one planned or virtual contact) as start and end
offsets in seconds from the stay's start. Separate stays of a person are kept more than 4 hours
apart, so the warehouse's coupling rule (domain-notes §1.4) never joins them.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

from koes.synthetic.hospital_catalog import (
    EMERGENCY_FIRST_SHARE,
    EMERGENCY_TWO_CONTACT_SHARE,
    PSYCH_EMERGENCY_FIRST_SHARE,
    TRANSFER_SHARE,
)

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

HOUR = 3600
DAY = 86_400
MAX_CONTACTS = 3
MIN_GAP_BETWEEN_STAYS = 6 * HOUR  # > 4 h, so separate stays never couple
WHOLE_DAY_PASSES = 4
_PERSON_SPAN = np.int64(1 << 36)  # seconds; far more than any period


class Role(IntEnum):
    """The part a contact plays in its stay."""

    EMERGENCY_BEFORE_ADMISSION = 0
    WARD = 1
    WARD_AFTER_TRANSFER = 2
    EMERGENCY_VISIT = 3
    CLINIC = 4
    VIRTUAL = 5


def weekday_shift(day: Ints) -> Ints:
    """Planned activity moves from the weekend to Monday (1970-01-01 was a Thursday)."""
    weekday = (day + 3) % 7
    return np.asarray(day + np.select([weekday == 5, weekday == 6], [2, 1], 0), dtype=np.int64)


def empty_plan(n: int) -> tuple[Ints, Ints]:
    return np.full((n, MAX_CONTACTS), -1, dtype=np.int64), np.zeros((n, MAX_CONTACTS, 2), dtype=np.int64)


def _put(roles: Ints, offsets: Ints, mask: Bools, slot: Ints, role: Role, s: Ints, e: Ints) -> None:
    idx = np.flatnonzero(mask)
    roles[idx, slot[idx]] = role
    offsets[idx, slot[idx], 0] = s[idx]
    offsets[idx, slot[idx], 1] = e[idx]


def hours(rng: np.random.Generator, lo: float, hi: float, n: int) -> Ints:
    return ((lo + rng.random(n) * (hi - lo)) * HOUR).astype(np.int64)


def admission_plan(rng: np.random.Generator, acute: Bools, psychiatric: Bools, ward: Ints) -> tuple[Ints, Ints]:
    """Acute admissions mostly start in the emergency department (2–8 h) and move to a ward of
    the same hospital 0–3 h later; some somatic admissions end with a transfer (gap ≤ 3 h)."""
    n = len(acute)
    roles, offsets = empty_plan(n)
    u = rng.random(n)
    has_ed = acute & (u < np.where(psychiatric, PSYCH_EMERGENCY_FIRST_SHARE, EMERGENCY_FIRST_SHARE))
    transfer = ~psychiatric & (rng.random(n) < TRANSFER_SHARE)
    ed = np.where(psychiatric, hours(rng, 1, 4, n), hours(rng, 2, 8, n))
    ward_start = np.where(has_ed, ed + hours(rng, 0, 3, n), 0)
    first_ward = np.where(
        transfer, np.clip((0.3 + 0.4 * rng.random(n)) * ward, 4 * HOUR, ward - 4 * HOUR), ward
    ).astype(np.int64)
    second_start = ward_start + first_ward + hours(rng, 0.25, 3, n)
    second_end = second_start + ward - first_ward
    zero = np.zeros(n, dtype=np.int64)
    slot = has_ed.astype(np.int64)
    _put(roles, offsets, has_ed, zero, Role.EMERGENCY_BEFORE_ADMISSION, zero, ed)
    _put(roles, offsets, np.ones(n, bool), slot, Role.WARD, ward_start, ward_start + first_ward)
    _put(roles, offsets, transfer, slot + 1, Role.WARD_AFTER_TRANSFER, second_start, second_end)
    return roles, offsets


def outpatient_plan(rng: np.random.Generator, acute: Bools) -> tuple[Ints, Ints]:
    """Emergency visits last 0.75–8 h, a tenth continue in a clinic; planned visits 0.3–4 h."""
    n = len(acute)
    roles, offsets = empty_plan(n)
    zero, one = np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)
    ev = np.clip(3 * HOUR * np.exp(0.5 * rng.standard_normal(n)), 0.75 * HOUR, 8 * HOUR)
    clinic = np.clip(HOUR * np.exp(0.6 * rng.standard_normal(n)), 0.3 * HOUR, 4 * HOUR)
    ev, clinic = ev.astype(np.int64), clinic.astype(np.int64)
    two = acute & (rng.random(n) < EMERGENCY_TWO_CONTACT_SHARE)
    follow_start = ev + hours(rng, 0, 1.5, n)
    follow_end = follow_start + hours(rng, 0.5, 1.5, n)
    _put(roles, offsets, acute, zero, Role.EMERGENCY_VISIT, zero, ev)
    _put(roles, offsets, two, one, Role.CLINIC, follow_start, follow_end)
    _put(roles, offsets, ~acute, zero, Role.CLINIC, zero, clinic)
    return roles, offsets


def virtual_plan(rng: np.random.Generator, n: int) -> tuple[Ints, Ints]:
    roles, offsets = empty_plan(n)
    zero = np.zeros(n, dtype=np.int64)
    minutes = (300 + rng.random(n) * 1500).astype(np.int64)
    _put(roles, offsets, np.ones(n, bool), zero, Role.VIRTUAL, zero, minutes)
    return roles, offsets


def separate(person: Ints, start: Ints, duration: Ints) -> Ints:
    """New starts that keep each person's stays more than 4 hours apart, so they never couple.

    A stay that starts within 6 h of an earlier stay's end first moves by whole days (keeping its
    time of day); the few still clashing after some passes (chains of visits during a long
    admission) are queued right after each other."""
    start = start.copy()
    for _ in range(WHOLE_DAY_PASSES):
        order, clash, push = _clashes(person, start, duration)
        if not clash.any():
            break
        start[order[clash]] += push[clash]
    return _queue(person, start, duration)


def _by_person_and_start(person: Ints, start: Ints) -> tuple[Ints, Ints]:
    """Sort order by (person, start) and each sorted row's person group number."""
    base = start.min(initial=0)
    order = np.argsort(person * _PERSON_SPAN + (start - base), kind="stable")
    p = person[order]
    group = np.r_[0, np.cumsum(p[1:] != p[:-1])].astype(np.int64)
    return order, group


def _running_max(values: Ints, group: Ints) -> Ints:
    """Running maximum restarting at each group (values must span less than _PERSON_SPAN)."""
    base = values.min(initial=0)
    shifted = (values - base) + group * _PERSON_SPAN
    return np.asarray(np.maximum.accumulate(shifted) - group * _PERSON_SPAN + base, dtype=np.int64)


def _clashes(person: Ints, start: Ints, duration: Ints) -> tuple[Ints, Bools, Ints]:
    order, group = _by_person_and_start(person, start)
    s = start[order]
    latest = _running_max(s + duration[order], group)
    same = np.r_[False, group[1:] == group[:-1]]
    need = np.r_[0, latest[:-1]] + MIN_GAP_BETWEEN_STAYS - s
    clash = same & (need > 0)
    push = -(-need // DAY) * DAY
    return order, clash, push


def _queue(person: Ints, start: Ints, duration: Ints) -> Ints:
    """Earliest starts, in the same order, with each stay at least the gap after the previous:
    t_i = max(s_i, t_(i-1) + d_(i-1) + gap). With D_i the person's sum of (d + gap) before i,
    t_i - D_i is the running maximum of s_i - D_i, which needs no loop."""
    order, group = _by_person_and_start(person, start)
    s = start[order]
    step = duration[order] + MIN_GAP_BETWEEN_STAYS
    before = np.cumsum(step) - step
    first = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    before = before - before[first][group]
    queued = np.empty_like(start)
    queued[order] = _running_max(s - before, group) + before
    return queued

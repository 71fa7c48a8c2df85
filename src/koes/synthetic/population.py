"""The synthetic persons of one chunk: who they are, where they live when, and how healthy.

Everything else is generated from a :class:`Population`: register generators ask it for the age
and the municipality of residence of a person on a given day, and read the health state
(chronic conditions and an individual ``frailty`` factor) that drives their use of services.

The period's persons are those resident on its first day (drawn by the national sex × age
structure and the municipalities' population weights), plus births and immigrants during it.
Deaths, emigration and moves between municipalities happen at the yearly rates of
:mod:`koes.synthetic.demography`, so residence on the event date matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from koes.synthetic import demography as demo
from koes.synthetic.context import ChunkContext
from koes.synthetic.cpr_numbers import synthetic_cpr_numbers

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class Residence:
    """Residence periods, sorted by (person, fra). A person lives in ``kommune`` on days
    ``fra <= d < til``; ``til`` is NaT for the current address."""

    person: np.ndarray  # int64 index into the population
    kommune: np.ndarray  # int16, 3-digit kommunekode
    fra: np.ndarray  # datetime64[D]
    til: np.ndarray  # datetime64[D], NaT = open

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Population:
    pnr: np.ndarray  # <U10 synthetic CPR numbers, no dash
    sex: np.ndarray  # int8: 1 male, 2 female
    birth: np.ndarray  # datetime64[D]
    entry: np.ndarray  # first day present in the period (period start, birth or immigration)
    exit: np.ndarray  # last day present in the period (period end, death or day before emigration)
    status: np.ndarray  # <U2 CPR status: "01", "80" emigrated, "90" dead
    status_date: np.ndarray  # datetime64[D], NaT unless emigrated or dead
    residence: Residence
    conditions: Mapping[str, np.ndarray]  # bool per person, prevalence at entry
    frailty: np.ndarray  # float64 multiplier of health-service use (mean about 1)

    def __len__(self) -> int:
        return len(self.pnr)

    @property
    def male(self) -> np.ndarray:
        return np.asarray(self.sex == 1, dtype=bool)

    def age_on(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Exact age in completed years of each ``person`` on each ``day``."""
        return age_in_years(self.birth[person], day)

    def municipality_on(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """3-digit kommunekode of residence on ``day``; 0 where the person was not resident."""
        return _lookup_residence(self.residence, person, day)

    def present(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.asarray((day >= self.entry[person]) & (day <= self.exit[person]), dtype=bool)

    def has(self, condition: str) -> np.ndarray:
        return self.conditions[condition]

    def pnr_column(self, person: np.ndarray) -> pa.Array:
        """CPR numbers of the given persons as an Arrow string column.

        Gathered as fixed-width ASCII rather than through Python strings: register tables have
        millions of rows per chunk.
        """
        width = self.pnr.dtype.itemsize // 4  # numpy stores text as 4-byte code points
        ascii_digits = np.frombuffer(self.pnr.tobytes(), np.uint32).astype(np.uint8)
        gathered = ascii_digits.reshape(-1, width)[person]
        column = pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(width), len(person), [None, pa.py_buffer(np.ascontiguousarray(gathered))]
        )
        return column.cast(pa.string())


def age_in_years(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    years = day.astype("datetime64[Y]").astype(np.int64) - birth.astype("datetime64[Y]").astype(np.int64)
    before_birthday = _month_day(day) < _month_day(birth)
    return (years - before_birthday).astype(np.int64)


def _month_day(d: np.ndarray) -> np.ndarray:
    month = d.astype("datetime64[M]").astype(np.int64) % 12
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)
    return np.asarray(month * 32 + day, dtype=np.int64)


def _lookup_residence(res: Residence, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    # Sorted composite keys turn "which period covers (person, day)" into one searchsorted.
    span = np.int64(1 << 20)
    res_key = res.person.astype(np.int64) * span + res.fra.astype(np.int64)
    q_key = person.astype(np.int64) * span + day.astype("datetime64[D]").astype(np.int64)
    pos = np.searchsorted(res_key, q_key, side="right") - 1
    valid = pos >= 0
    pos = np.clip(pos, 0, None)
    til = res.til[pos]
    inside = valid & (res.person[pos] == person) & (np.isnat(til) | (day < til))
    return np.where(inside, res.kommune[pos], 0).astype(np.int16)


def generate_population(ctx: ChunkContext, n_start: int, used_pnr: PnrRegistry) -> Population:
    """Persons of one chunk: ``n_start`` residents on the first day plus births and immigrants."""
    rng = ctx.rng("population")
    years = len(ctx.years)
    n_births = int(rng.poisson(n_start * demo.BIRTHS_PER_1000 / 1000 * years))
    n_immigrants = int(rng.poisson(n_start * demo.IMMIGRATION_PER_1000 / 1000 * years))

    sex0, birth0 = _residents_at_start(ctx, rng, n_start)
    sex1, birth1 = _newborns(ctx, rng, n_births)
    sex2, birth2, entry2 = _immigrants(ctx, rng, n_immigrants)
    sex = np.concatenate([sex0, sex1, sex2])
    birth = np.concatenate([birth0, birth1, birth2])
    entry = np.concatenate([np.full(n_start, ctx.start64), birth1, entry2])

    first_kommune = _draw_municipalities(ctx, rng, len(sex))
    conditions, frailty = _health_state(rng, age_in_years(birth, entry))
    exit_, status, status_date = _deaths_and_emigration(ctx, rng, birth, entry, conditions)
    first_fra = _first_residence_start(rng, birth, entry, ctx.start64, born_here=n_start + n_births)
    residence = _moves(ctx, rng, first_kommune, first_fra, entry, exit_, birth)
    residence = _close_residence(residence, exit_, status)
    pnr = _unique_pnr(rng, birth, sex == 1, used_pnr)
    return Population(pnr, sex, birth, entry, exit_, status, status_date, residence, conditions, frailty)


def _residents_at_start(ctx: ChunkContext, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    groups = ctx.refdata.national_structure(ctx.start.year)
    weights = np.array([g.population for g in groups], dtype=np.float64)
    pick = rng.choice(len(groups), size=n, p=weights / weights.sum())
    lo = np.array([g.age_from for g in groups])[pick]
    hi = np.array([g.age_to if g.age_to is not None else g.age_from for g in groups])[pick]
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    open_top = np.array([g.age_to is None for g in groups])[pick]
    age = np.where(open_top, np.minimum(lo + rng.geometric(0.2, n) - 1, 105), age)
    sex = np.where(np.array([g.sex == "M" for g in groups])[pick], 1, 2).astype(np.int8)
    # Born after 1 January of (start year - age - 1): never on 1 January, so a synthetic number
    # that fails modulus 11 can never be one that CPR has issued (domain-notes §4).
    year_start = np.datetime64(ctx.start.year - 1970, "Y").astype(np.int64) - age - 1
    jan2 = year_start.astype("datetime64[Y]").astype("datetime64[D]") + DAY
    birth = jan2 + rng.integers(0, 364, n).astype("timedelta64[D]")
    return sex, birth


def _newborns(ctx: ChunkContext, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    birth = _uniform_days(rng, ctx.start64, ctx.end64, n)
    birth = _avoid_new_year(birth)
    sex = np.where(rng.random(n) < 0.513, 1, 2).astype(np.int8)
    return sex, birth


def _immigrants(ctx: ChunkContext, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    entry = _uniform_days(rng, ctx.start64 + DAY, ctx.end64, n)
    age_days = rng.integers(0, 365 * 50, n) + np.where(rng.random(n) < 0.8, 365 * 18, 0)
    birth = _avoid_new_year(entry - age_days.astype("timedelta64[D]"))
    sex = np.where(rng.random(n) < 0.5, 1, 2).astype(np.int8)
    return sex, birth, entry


def _uniform_days(rng: np.random.Generator, lo: np.datetime64, hi: np.datetime64, n: int) -> np.ndarray:
    span = int((hi - lo) / DAY) + 1
    return lo + rng.integers(0, span, n).astype("timedelta64[D]")


def _avoid_new_year(d: np.ndarray) -> np.ndarray:
    jan1 = d == d.astype("datetime64[Y]").astype("datetime64[D]")
    return np.where(jan1, d + DAY, d)


def _municipality_weights(ctx: ChunkContext) -> tuple[np.ndarray, np.ndarray]:
    pop = ctx.refdata.population_in(ctx.start.year)
    codes = np.array(sorted(pop), dtype=np.int16)
    weights = np.array([pop[int(c)] for c in codes], dtype=np.float64)
    return codes, weights / weights.sum()


def _draw_municipalities(ctx: ChunkContext, rng: np.random.Generator, n: int) -> np.ndarray:
    codes, p = _municipality_weights(ctx)
    return codes[rng.choice(len(codes), size=n, p=p)]


def _health_state(rng: np.random.Generator, age: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    conditions = {name: rng.random(len(age)) < steps.at(age) for name, steps in demo.CONDITION_PREVALENCE.items()}
    load = np.ones(len(age))
    for name, has in conditions.items():
        load = np.where(has, load * demo.CONDITION_LOAD[name], load)
    sigma = demo.FRAILTY_SIGMA
    frailty = rng.lognormal(-sigma * sigma / 2, sigma, len(age)) * load
    return conditions, frailty


def _deaths_and_emigration(
    ctx: ChunkContext,
    rng: np.random.Generator,
    birth: np.ndarray,
    entry: np.ndarray,
    conditions: Mapping[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(birth)
    exit_ = np.full(n, ctx.end64)
    status = np.full(n, "01", dtype="<U2")
    status_date = np.full(n, NAT)
    sick = 1.0 + sum(
        (
            conditions[c].astype(np.float64) * w
            for c, w in (("hjertesvigt", 1.5), ("kraeft", 2.0), ("demens", 1.5), ("kol", 1.0))
        ),
        start=np.zeros(n),
    )
    sick = sick / sick.mean() if n else sick  # normalise: the average person keeps base mortality
    for year in ctx.years:
        y0 = np.datetime64(f"{year}-01-01")
        y1 = np.datetime64(f"{year}-12-31")
        lo = np.maximum(entry, y0)
        at_risk = (status == "01") & (lo <= y1)
        share = ((y1 - lo) / DAY + 1) / 365.0
        age = age_in_years(birth, lo)
        p_death = demo.mortality(age) * sick * share
        p_emig = demo.EMIGRATION_PER_1000 / 1000 * demo.EMIGRATION_AGE_WEIGHT.at(age) * share
        u = rng.random(n)
        when = lo + np.floor(rng.random(n) * ((y1 - lo) / DAY + 1)).astype("timedelta64[D]")
        dies = at_risk & (u < p_death)
        leaves = at_risk & ~dies & (u < p_death + p_emig) & (when > entry)
        status = np.where(dies, "90", np.where(leaves, "80", status))
        status_date = np.where(dies | leaves, when, status_date)
        exit_ = np.where(dies, when, np.where(leaves, when - DAY, exit_))
    return exit_, status, status_date


def _first_residence_start(
    rng: np.random.Generator,
    birth: np.ndarray,
    entry: np.ndarray,
    start: np.datetime64,
    born_here: int,
) -> np.ndarray:
    # Residents on day one moved in at some time before it (not earlier than birth); births and
    # immigrants start their first address on the day they enter.
    n = len(birth)
    back = rng.integers(1, 15 * 365, n).astype("timedelta64[D]")
    moved_in = np.maximum(start - back, birth)
    is_start = entry == start
    first = np.where(is_start, moved_in, entry)
    first[born_here:] = entry[born_here:]
    return first


def _moves(
    ctx: ChunkContext,
    rng: np.random.Generator,
    first_kommune: np.ndarray,
    first_fra: np.ndarray,
    entry: np.ndarray,
    exit_: np.ndarray,
    birth: np.ndarray,
) -> Residence:
    n = len(first_kommune)
    present_years = ((exit_ - entry) / DAY + 1) / 365.0
    rate = demo.MOVE_RATE.at(age_in_years(birth, entry)) * present_years
    n_moves = np.minimum(rng.poisson(rate), 3)
    mover = np.repeat(np.arange(n), n_moves)
    span = ((exit_[mover] - entry[mover]) / DAY).astype(np.int64)
    when = entry[mover] + (np.floor(rng.random(len(mover)) * span).astype(np.int64) + 1).astype("timedelta64[D]")
    order = np.lexsort((when, mover))
    mover, when = mover[order], when[order]
    keep = np.ones(len(mover), dtype=bool)
    keep[1:] = ~((mover[1:] == mover[:-1]) & (when[1:] == when[:-1]))
    mover, when = mover[keep], when[keep]

    dest = _destinations(ctx, rng, first_kommune, mover)
    person = np.concatenate([np.arange(n), mover])
    kommune = np.concatenate([first_kommune, dest])
    fra = np.concatenate([first_fra, when])
    order = np.lexsort((fra, person))
    person, kommune, fra = person[order], kommune[order], fra[order]
    til = np.full(len(person), NAT)
    same_next = person[:-1] == person[1:]
    til[:-1] = np.where(same_next, fra[1:], NAT)
    return Residence(person.astype(np.int64), kommune.astype(np.int16), fra, til)


def _destinations(ctx: ChunkContext, rng: np.random.Generator, first: np.ndarray, mover: np.ndarray) -> np.ndarray:
    codes, p = _municipality_weights(ctx)
    region_of = {m.code: m.region_code for m in ctx.refdata.municipalities}
    regions = np.array([region_of[int(c)] for c in codes])
    dest = np.zeros(len(mover), dtype=np.int16)
    current = first[mover].copy()
    # A person's k-th move starts from where the (k-1)-th left them; moves are sorted per person.
    ordinal = _ordinal_within(mover)
    for k in range(int(ordinal.max(initial=-1)) + 1):
        sel = np.flatnonzero(ordinal == k)
        if k > 0:
            current[sel] = dest[sel - 1]
        dest[sel] = _pick_other(rng, codes, p, regions, current[sel])
    return dest


def _ordinal_within(sorted_ids: np.ndarray) -> np.ndarray:
    if len(sorted_ids) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]
    idx = np.arange(len(sorted_ids))
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def _pick_other(
    rng: np.random.Generator,
    codes: np.ndarray,
    p: np.ndarray,
    regions: np.ndarray,
    current: np.ndarray,
) -> np.ndarray:
    m = len(current)
    pick = rng.choice(len(codes), size=m, p=p)
    cur_idx = np.searchsorted(codes, current)
    same_region = rng.random(m) < demo.SAME_REGION_MOVE_SHARE
    # Within-region moves: redraw among the current region's municipalities by weight.
    for region in np.unique(regions):
        in_region = np.flatnonzero(regions == region)
        sel = np.flatnonzero(same_region & (regions[cur_idx] == region))
        if len(sel):
            w = p[in_region] / p[in_region].sum()
            pick[sel] = in_region[rng.choice(len(in_region), size=len(sel), p=w)]
    clash = pick == cur_idx
    pick[clash] = (pick[clash] + 1 + rng.integers(0, len(codes) - 1, int(clash.sum()))) % len(codes)
    return codes[pick]


def _close_residence(res: Residence, exit_: np.ndarray, status: np.ndarray) -> Residence:
    # The last address ends when the person dies (the day after death) or emigrates.
    last = np.r_[res.person[1:] != res.person[:-1], True]
    gone = status[res.person] != "01"
    til = np.where(last & gone, exit_[res.person] + DAY, res.til)
    return Residence(res.person, res.kommune, res.fra, til)


class PnrRegistry:
    """CPR numbers handed out so far (as integers), so numbers stay unique across chunks."""

    def __init__(self) -> None:
        self._used = np.zeros(0, dtype=np.int64)

    def clashes(self, pnr: np.ndarray) -> np.ndarray:
        as_int = pnr.astype(np.int64)
        _, first = np.unique(as_int, return_index=True)
        repeated = np.ones(len(pnr), dtype=bool)
        repeated[first] = False
        return np.isin(as_int, self._used) | repeated

    def add(self, pnr: np.ndarray) -> None:
        self._used = np.union1d(self._used, pnr.astype(np.int64))


def _unique_pnr(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray, used: PnrRegistry) -> np.ndarray:
    pnr = synthetic_cpr_numbers(birth, male, rng)
    for _ in range(50):
        clash = used.clashes(pnr)
        if not clash.any():
            used.add(pnr)
            return pnr
        idx = np.flatnonzero(clash)
        pnr[idx] = synthetic_cpr_numbers(birth[idx], male[idx], rng)
    raise RuntimeError("could not draw unique synthetic CPR numbers; the birth-date space is exhausted")


def person_tables(pop: Population) -> dict[str, pa.Table]:
    """The CPR extracts of a population: persons and residence history."""
    res = pop.residence
    kommunekode = np.char.zfill(res.kommune.astype(str), 4)
    return {
        "cpr_personer": pa.table(
            {
                "pnr": pa.array(pop.pnr, pa.string()),
                "koen": pa.array(pop.sex.astype(str), pa.string()),
                "foed_dato": pa.array(pop.birth),
                "status": pa.array(pop.status, pa.string()),
                "status_dato": pa.array(pop.status_date),
            }
        ),
        "cpr_adresser": pa.table(
            {
                "pnr": pop.pnr_column(res.person),
                "kommunekode": pa.array(kommunekode, pa.string()),
                "fra_dato": pa.array(res.fra),
                "til_dato": pa.array(res.til),
            }
        ),
    }

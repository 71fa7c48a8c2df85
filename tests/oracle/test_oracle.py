"""Oracle tests: key figures recomputed from the raw register extracts, independently of the ETL.

Everything on the oracle side is plain Python over the Parquet extracts (CPR numbers and all),
with its own stay coupling, residence lookup, age rule and reading of the rule tables; nothing
from ``koes.etl`` is imported. The warehouse holds only ``person_id``, so the two sides meet in
aggregates: counts must be equal, money equal to the øre (a tolerance of 0.01 kr. per summed row
allows for the warehouse's rounding of each row to two decimals).

Definitions used here (DESIGN.md §6, domain-notes §1.3–§1.5, §3):

* a stay couples a person's physical contacts (ALCA00, ALCA10) that overlap or start at most
  4 hours after the latest end so far; an admission is a stay of at least 12 hours; acute when its
  first contact is ATA1; bed days are calendar days from admission to discharge, at least 1;
* a stay's action diagnosis and sector are those of its longest contact;
* residence on a day is the CPR period with ``fra <= day < til``;
* co-financing: the rule of the stay's start date, KMF sector and age, ``pct`` % of the value,
  capped per stay, booked in full in the municipality and year of the stay's start; virtual
  contacts are their own outpatient visit, on their own date;
* a DREAM benefit week belongs to its ISO year and to the residence on its Monday;
* a medicine user has a redemption with a positive quantity (a return is none);
* a rate per 1,000 over several years is per year: events over citizen-years (the residents on
  the 1st of each month, summed, over 12); persons once per year over everyone resident in the
  municipality some day of the year.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from importlib.resources import files
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from koes.privacy.access import Organisation, Principal
from koes.services.analysis import AnalysisService
from koes.services.results import AnalysisResult
from koes.services.warehouse import LoadResult
from support import TOTAL_KEY, result_cells

PSYCHIATRIC_SPECIALTIES = frozenset({"psykiatri", "boerne_ungdomspsykiatri"})
PHYSICAL_TYPES = frozenset({"ALCA00", "ALCA10"})
COUPLING_GAP = timedelta(hours=4)
ADMISSION_LENGTH = timedelta(hours=12)
READMISSION_WINDOW = timedelta(days=30)
PREVENTABLE_MIN_AGE = 65
GP_SPECIALTIES = frozenset({"80", "81"})
SPECIALIST_SPECIALTIES = frozenset({"04", "06", "07", "08", "09", "19", "20", "21", "24", "25", "26"})
OTHER_SPECIALTIES = frozenset({"50", "51", "53", "54", "62", "63"})


def _codes(letters: str, first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{letters}{n:02d}" for n in range(first, last + 1))


# The nine groups with the ICD-10 mapping written out in domain-notes §1.3 (own copy, not imported).
PREVENTABLE_PREFIXES: dict[str, tuple[str, ...]] = {
    "dehydrering": ("DE86",),
    "forstoppelse": ("DK590",),
    "nedre_luftveje": (*_codes("DJ", 12, 18), *_codes("DJ", 20, 22), "DJ44"),
    "blaerebetaendelse": ("DN300", "DN390"),
    "gastroenteritis": ("DA09", "DK529"),
    "brud": ("DS32", "DS42", "DS52", "DS72"),
    "anaemi": _codes("DD", 50, 53),
    "sociale_forhold": (*_codes("DZ", 59, 60), *_codes("DZ", 74, 75)),
    "tryksaar": ("DL89",),
}

Key = tuple[Any, ...]


# --- reading the raw extracts and the rule tables -------------------------------------------------


def _rows(folder: Path, register: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(folder / f"{register}.parquet").to_pylist()
    return rows


def _rule_csv(name: str) -> list[dict[str, str]]:
    text = (files("koes.domain") / "rules" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@dataclass(frozen=True)
class CofinancingRule:
    valid_from: date
    valid_to: date
    sector: str
    age_from: int
    age_to: int | None
    pct: float
    cap_kr: float | None

    def applies(self, sector: str, day: date, age: int) -> bool:
        in_age = self.age_from <= age and (self.age_to is None or age <= self.age_to)
        return self.sector == sector and self.valid_from <= day <= self.valid_to and in_age

    def amount(self, value: float) -> float:
        raw = self.pct / 100 * value
        return raw if self.cap_kr is None else min(raw, self.cap_kr)


@dataclass(frozen=True)
class Rules:
    cofinancing: list[CofinancingRule]
    psychiatric: dict[tuple[int, str], float]  # (year, sengedag|besoeg) -> kr.
    cache: dict[tuple[str, date, int], CofinancingRule | None] = field(default_factory=dict, compare=False)

    @classmethod
    def read(cls) -> Rules:
        cofinancing = [
            CofinancingRule(
                date.fromisoformat(r["valid_from"]),
                date.fromisoformat(r["valid_to"]),
                r["sector"],
                int(r["age_from"]),
                int(r["age_to"]) if r["age_to"] else None,
                float(r["pct"]),
                float(r["cap_kr"]) if r["cap_kr"] else None,
            )
            for r in _rule_csv("medfinansiering.csv")
        ]
        psychiatric = {(int(r["year"]), r["tariff"]): float(r["kr"]) for r in _rule_csv("psykiatri_takster.csv")}
        return cls(cofinancing, psychiatric)

    def cofinancing_of(self, sector: str, day: date, age: int, value: float) -> float:
        """The amount under the one rule that applies; 0 outside the scheme (no rule)."""
        key = (sector, day, age)
        if key not in self.cache:
            found = [r for r in self.cofinancing if r.applies(sector, day, age)]
            assert len(found) <= 1, f"overlapping co-financing rules for {sector} {day} age {age}"
            self.cache[key] = found[0] if found else None
        rule = self.cache[key]
        return rule.amount(value) if rule else 0.0


def age_on(birth: date, day: date) -> int:
    """Completed years: compare YYYYMMDD numbers (a different formulation from the warehouse's)."""
    return (_yyyymmdd(day) - _yyyymmdd(birth)) // 10000


def _yyyymmdd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


@dataclass
class Residence:
    periods: dict[str, list[tuple[date, date | None, int]]] = field(default_factory=lambda: defaultdict(list))

    def municipality(self, pnr: str, day: date) -> int | None:
        found = [k for fra, til, k in self.periods.get(pnr, []) if fra <= day and (til is None or day < til)]
        assert len(found) <= 1, "overlapping residence periods in the raw extract"
        return found[0] if found else None

    def lived_in(self, pnr: str, first: date, end: date) -> set[int]:
        """The municipalities ``pnr`` lived in on some day of [first, end)."""
        return {k for fra, til, k in self.periods.get(pnr, []) if fra < end and (til is None or til > first)}

    def residents_on(self, day: date) -> Counter[int]:
        return Counter(
            k
            for periods in self.periods.values()
            for fra, til, k in periods
            if fra <= day and (til is None or day < til)
        )


@dataclass(frozen=True)
class Contact:
    id: int
    pnr: str
    start: datetime
    end: datetime
    kont_type: str
    acute: bool
    adiag: str
    psychiatric: bool
    drg_takst: float | None

    @property
    def sector(self) -> str:
        return "psykiatri" if self.psychiatric else "somatik"


@dataclass
class Stay:
    """A stay; read its (cached) properties only once all its contacts are in."""

    pnr: str
    contacts: list[Contact]

    @cached_property
    def start(self) -> datetime:
        return min(c.start for c in self.contacts)

    @cached_property
    def end(self) -> datetime:
        return max(c.end for c in self.contacts)

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def admission(self) -> bool:
        return self.end - self.start >= ADMISSION_LENGTH

    @property
    def acute(self) -> bool:
        first = min(self.contacts, key=lambda c: (c.start, c.id))
        return first.acute

    @cached_property
    def longest(self) -> Contact:
        return sorted(self.contacts, key=lambda c: (-(c.end - c.start).total_seconds(), c.start, c.id))[0]

    @property
    def sector(self) -> str:
        return self.longest.sector

    @property
    def bed_days(self) -> int:
        return max((self.end.date() - self.start.date()).days, 1) if self.admission else 0


@dataclass
class Raw:
    """The raw extracts, parsed once, with the oracle's own derivations."""

    birth: dict[str, date]
    residence: Residence
    contacts: list[Contact]
    stays: list[Stay]
    services: list[dict[str, Any]]
    rules: Rules
    years: range

    def age(self, pnr: str, day: date) -> int:
        return age_on(self.birth[pnr], day)

    def municipality(self, pnr: str, day: date) -> int | None:
        return self.residence.municipality(pnr, day)


def couple_stays(contacts: Iterable[Contact]) -> list[Stay]:
    """Walk each person's physical contacts in time order; a start more than 4 h after the latest
    end so far opens a new stay."""
    by_person: dict[str, list[Contact]] = defaultdict(list)
    for c in contacts:
        if c.kont_type in PHYSICAL_TYPES:
            by_person[c.pnr].append(c)
    stays: list[Stay] = []
    for pnr, own in by_person.items():
        own.sort(key=lambda c: (c.start, c.end, c.id))
        current: Stay | None = None
        latest_end = datetime.min
        for c in own:
            if current is None or c.start - latest_end > COUPLING_GAP:
                current = Stay(pnr, [])
                stays.append(current)
                latest_end = c.end
            current.contacts.append(c)
            latest_end = max(latest_end, c.end)
    return stays


def read_raw(folder: Path) -> Raw:
    birth = {r["pnr"]: r["foed_dato"] for r in _rows(folder, "cpr_personer")}
    residence = Residence()
    for r in _rows(folder, "cpr_adresser"):
        residence.periods[r["pnr"]].append((r["fra_dato"], r["til_dato"], int(r["kommunekode"])))
    drg = {r["dw_ek_kontakt"]: float(r["takst"]) for r in _rows(folder, "drg_kontakter")}
    contacts = [
        Contact(
            r["dw_ek_kontakt"],
            r["pnr"],
            r["kont_starttidspunkt"],
            r["kont_sluttidspunkt"],
            r["kont_type"],
            r["prioritet"] == "ATA1",
            r["adiag"],
            r["kont_ans_hovedspec"] in PSYCHIATRIC_SPECIALTIES,
            drg.get(r["dw_ek_kontakt"]),
        )
        for r in _rows(folder, "lpr_kontakter")
    ]
    services = _rows(folder, "ssr_ydelser")
    first = min(min(c.start.date() for c in contacts), min(s["behandlingsdato"] for s in services))
    last = max(max(c.start.date() for c in contacts), max(s["behandlingsdato"] for s in services))
    return Raw(
        birth, residence, contacts, couple_stays(contacts), services, Rules.read(), range(first.year, last.year + 1)
    )


# --- oracle figures ---------------------------------------------------------------------------------


def preventable_group_of(adiag: str) -> str | None:
    for group, prefixes in PREVENTABLE_PREFIXES.items():
        if adiag.startswith(prefixes):
            return group
    return None


def stay_value(raw: Raw, stay: Stay) -> float:
    """DRG tariffs of the somatic contacts plus the psychiatric bed-day or visit rate."""
    drg = sum(c.drg_takst or 0.0 for c in stay.contacts if not c.psychiatric)
    psych = 0.0
    if any(c.psychiatric for c in stay.contacts):
        if stay.admission:
            psych = stay.bed_days * raw.rules.psychiatric[(stay.year, "sengedag")]
        else:
            psych = raw.rules.psychiatric[(stay.year, "besoeg")]
    return drg + psych


def stay_cofinancing(raw: Raw, stay: Stay) -> float:
    sector = stay.sector + ("_indlagt" if stay.admission else "_ambulant")
    day = stay.start.date()
    return raw.rules.cofinancing_of(sector, day, raw.age(stay.pnr, day), stay_value(raw, stay))


def virtual_value(raw: Raw, contact: Contact) -> float:
    if contact.psychiatric:
        return raw.rules.psychiatric[(contact.start.year, "besoeg")]
    return contact.drg_takst or 0.0


def virtual_cofinancing(raw: Raw, contact: Contact) -> float:
    day = contact.start.date()
    age = raw.age(contact.pnr, day)
    return raw.rules.cofinancing_of(contact.sector + "_ambulant", day, age, virtual_value(raw, contact))


def readmitted(stays: list[Stay]) -> set[int]:
    """ids of admissions followed by an acute admission of the same person and sector that starts
    within 30 calendar days of the discharge date."""
    admissions: dict[tuple[str, str], list[Stay]] = defaultdict(list)
    for s in stays:
        if s.admission:
            admissions[(s.pnr, s.sector)].append(s)
    found: set[int] = set()
    for own in admissions.values():
        for s in own:
            if any(o.acute and s.end < o.start and o.start.date() <= s.end.date() + READMISSION_WINDOW for o in own):
                found.add(id(s))
    return found


def service_group(speciale: str) -> str:
    specialty = speciale[:2]
    if specialty in GP_SPECIALTIES:
        return "almen_praksis"
    if specialty in SPECIALIST_SPECIALTIES:
        return "speciallaege"
    assert specialty in OTHER_SPECIALTIES, f"speciality {specialty} unknown to the oracle"
    return "oevrige"


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw(small_extracts: Path) -> Raw:
    return read_raw(small_extracts)


@pytest.fixture(scope="module")
def warehouse(small_load: LoadResult) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(small_load.release.serving_file), read_only=True)
    yield con
    con.close()


def query(con: duckdb.DuckDBPyConnection, sql: str, n_keys: int) -> dict[Key, tuple[Any, ...]]:
    return {tuple(row[:n_keys]): tuple(row[n_keys:]) for row in con.execute(sql).fetchall()}


def assert_money_equal(expected: dict[Key, float], actual: dict[Key, float], rows: dict[Key, int]) -> None:
    """Sums equal to the øre: at most 0.01 kr. difference per row summed (plus float noise)."""
    assert set(expected) == set(actual), f"keys differ: {set(expected) ^ set(actual)}"
    off = {
        k: (expected[k], actual[k])
        for k in expected
        if abs(expected[k] - actual[k]) > 0.01 * max(rows.get(k, 1), 1) + 1e-6
    }
    assert not off, f"co-financing differs (expected, warehouse): {off}"


# --- the tests ----------------------------------------------------------------------------------------


def test_extracts_loaded_without_quarantine(warehouse: duckdb.DuckDBPyConnection, small_extracts: Path) -> None:
    """Precondition of the oracle: it reads every raw row, so the load must have kept every row."""
    accounting = query(warehouse, "SELECT register, rows_in, rows_loaded, rows_quarantined FROM load_accounting", 1)
    for (register,), (rows_in, loaded, quarantined) in accounting.items():
        assert quarantined == 0, register
        assert rows_in == loaded == pq.read_metadata(small_extracts / f"{register}.parquet").num_rows


def test_stays_and_admissions_per_year(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    """The coupling itself: stays by year, sector, admission and acute."""
    expected: Counter[Key] = Counter((s.year, s.sector, s.admission, s.acute) for s in raw.stays)
    actual = query(warehouse, "SELECT year, sector, admission, acute, count(*) FROM stays GROUP BY ALL", 4)
    assert {k: v[0] for k, v in actual.items()} == dict(expected)


def test_admissions_per_municipality_and_year(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    expected: Counter[Key] = Counter(
        (raw.municipality(s.pnr, s.start.date()), s.year) for s in raw.stays if s.admission
    )
    actual = query(warehouse, "SELECT kommunekode, year, count(*) FROM stays WHERE admission GROUP BY ALL", 2)
    assert {k: v[0] for k, v in actual.items()} == dict(expected)
    cube = query(
        warehouse,
        "SELECT kommunekode, year, sum(admissions) FROM cube_stays GROUP BY ALL HAVING sum(admissions) > 0",
        2,
    )
    assert {k: int(v[0]) for k, v in cube.items()} == dict(expected)


def test_bed_days_per_municipality_and_year(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    expected: Counter[Key] = Counter()
    for s in raw.stays:
        if s.admission:
            expected[(raw.municipality(s.pnr, s.start.date()), s.year)] += s.bed_days
    actual = query(warehouse, "SELECT kommunekode, year, sum(bed_days) FROM stays WHERE admission GROUP BY ALL", 2)
    assert {k: int(v[0]) for k, v in actual.items()} == dict(expected)
    cube = query(
        warehouse, "SELECT kommunekode, year, sum(bed_days) FROM cube_stays GROUP BY ALL HAVING sum(bed_days) > 0", 2
    )
    assert {k: int(v[0]) for k, v in cube.items()} == dict(expected)


def test_hospital_cofinancing_per_stay_sector_and_year(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    """Per stay: the rule of the stay's start date, sector and age, capped per stay."""
    expected: dict[Key, float] = defaultdict(float)
    rows: Counter[Key] = Counter()
    for s in raw.stays:
        expected[(s.sector, s.admission, s.year)] += stay_cofinancing(raw, s)
        rows[(s.sector, s.admission, s.year)] += 1
    assert any(stay_cofinancing(raw, s) == 31029 for s in raw.stays), "some stays should reach the 2022+ cap"
    actual = query(warehouse, "SELECT sector, admission, year, sum(kmf_kr) FROM stays GROUP BY ALL", 3)
    assert_money_equal(dict(expected), {k: float(v[0]) for k, v in actual.items()}, rows)


def test_hospital_cofinancing_per_sector_and_year(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    """What the co-financing report sums: each stay's amount in full in the stay's sector and the
    year it starts, plus virtual contacts, each its own visit."""
    expected: dict[Key, float] = defaultdict(float)
    rows: Counter[Key] = Counter()
    for s in raw.stays:
        expected[(s.sector, s.year)] += stay_cofinancing(raw, s)
        rows[(s.sector, s.year)] += 1
    for c in raw.contacts:
        if c.kont_type not in PHYSICAL_TYPES:
            expected[(c.sector, c.start.year)] += virtual_cofinancing(raw, c)
            rows[(c.sector, c.start.year)] += 1
    actual = query(
        warehouse,
        "SELECT sector, year, sum(kmf_kr) FROM cube_cofinancing WHERE sector IN ('somatik', 'psykiatri') GROUP BY ALL",
        2,
    )
    assert_money_equal(dict(expected), {k: float(v[0]) for k, v in actual.items()}, rows)


def test_practice_cofinancing_per_sector_and_year(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    expected: dict[Key, float] = defaultdict(float)
    rows: Counter[Key] = Counter()
    for r in raw.services:
        group = service_group(r["speciale"])
        if group == "oevrige":
            continue
        day = r["behandlingsdato"]
        key = (group, day.year)
        expected[key] += raw.rules.cofinancing_of(group, day, raw.age(r["pnr"], day), float(r["bruhon"]))
        rows[key] += 1
    actual = query(
        warehouse,
        "SELECT sector, year, sum(kmf_kr) FROM cube_cofinancing "
        "WHERE sector IN ('almen_praksis', 'speciallaege') GROUP BY ALL",
        2,
    )
    assert_money_equal(dict(expected), {k: float(v[0]) for k, v in actual.items()}, rows)


def test_preventable_admissions(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    by_municipality: Counter[Key] = Counter()
    by_group: Counter[Key] = Counter()
    for s in raw.stays:
        day = s.start.date()
        group = preventable_group_of(s.longest.adiag)
        if s.admission and s.acute and raw.age(s.pnr, day) >= PREVENTABLE_MIN_AGE and group:
            by_municipality[(raw.municipality(s.pnr, day), s.year)] += 1
            by_group[(group, s.year)] += 1
    assert sum(by_group.values()) > 0, "the synthetic data should hold preventable admissions"
    actual_m = query(
        warehouse,
        "SELECT kommunekode, year, count(*) FROM stays WHERE preventable_group IS NOT NULL GROUP BY ALL",
        2,
    )
    actual_g = query(
        warehouse,
        "SELECT preventable_group, year, count(*) FROM stays WHERE preventable_group IS NOT NULL GROUP BY ALL",
        2,
    )
    assert {k: v[0] for k, v in actual_m.items()} == dict(by_municipality)
    assert {k: v[0] for k, v in actual_g.items()} == dict(by_group)
    person_year = query(warehouse, "SELECT year, sum(preventable_admissions) FROM person_year GROUP BY ALL", 1)
    per_year = Counter[Key]()
    for (_, year), n in by_municipality.items():
        per_year[(year,)] += n
    assert {k: int(v[0]) for k, v in person_year.items() if v[0]} == dict(per_year)


def test_readmission_share_per_year_and_sector(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    followed = readmitted(raw.stays)
    admissions: Counter[Key] = Counter()
    readmissions: Counter[Key] = Counter()
    for s in raw.stays:
        if s.admission:
            admissions[(s.year, s.sector)] += 1
            readmissions[(s.year, s.sector)] += id(s) in followed
    assert sum(readmissions.values()) > 0, "the synthetic data should hold readmissions"
    actual = query(
        warehouse,
        "SELECT year, sector, count(*), count(*) FILTER (WHERE readmitted_30) FROM stays WHERE admission GROUP BY ALL",
        2,
    )
    assert {k: v[0] for k, v in actual.items()} == dict(admissions)
    assert {k: v[1] for k, v in actual.items()} == {k: readmissions[k] for k in admissions}
    share = {k: readmissions[k] / admissions[k] for k in admissions}
    assert {k: v[1] / v[0] for k, v in actual.items()} == pytest.approx(share, abs=1e-12)
    cube = query(warehouse, "SELECT year, sector, sum(admissions), sum(readmitted_30) FROM cube_stays GROUP BY ALL", 2)
    assert {k: (int(v[0]), int(v[1])) for k, v in cube.items()} == {
        k: (admissions[k], readmissions[k]) for k in admissions
    }


def test_gp_contacts_per_1000_citizens(raw: Raw, warehouse: duckdb.DuckDBPyConnection) -> None:
    contacts: Counter[Key] = Counter()
    for r in raw.services:
        if r["speciale"][:2] in GP_SPECIALTIES:
            day = r["behandlingsdato"]
            contacts[(raw.municipality(r["pnr"], day), day.year)] += r["kontakt"]
    month_counts: Counter[Key] = Counter()
    for year in raw.years:
        for month in range(1, 13):
            for kommune, n in raw.residence.residents_on(date(year, month, 1)).items():
                month_counts[(kommune, year)] += n
    average = {k: n / 12 for k, n in month_counts.items()}
    expected = {k: 1000 * n / average[k] for k, n in contacts.items() if k in average}

    actual_contacts = query(
        warehouse,
        "SELECT kommunekode, year, sum(contacts) FROM services WHERE provider_group = 'almen_praksis' GROUP BY ALL",
        2,
    )
    assert {k: int(v[0]) for k, v in actual_contacts.items()} == dict(contacts)
    cube = query(
        warehouse,
        "SELECT kommunekode, year, sum(contacts) FROM cube_services "
        "WHERE provider_group = 'almen_praksis' GROUP BY ALL",
        2,
    )
    assert {k: int(v[0]) for k, v in cube.items()} == dict(contacts)
    population = query(warehouse, "SELECT kommunekode, year, sum(persons) FROM population_month GROUP BY ALL", 2)
    assert {k: int(v[0]) for k, v in population.items()} == dict(month_counts)
    cube = query(warehouse, "SELECT kommunekode, year, sum(persons) FROM cube_population GROUP BY ALL", 2)
    assert {k: int(v[0]) for k, v in cube.items()} == dict(month_counts)
    avg = query(warehouse, "SELECT kommunekode, year, sum(persons_avg) FROM population_year GROUP BY ALL", 2)
    rates = {k: 1000 * int(v[0]) / avg[k][0] for k, v in actual_contacts.items() if k in avg}
    assert rates == pytest.approx(expected, rel=1e-12)


# --- the analysis service against the raw extracts -----------------------------------------------------
# The whole query path (catalog, planner, scope rewrite, SQL, engine, assembly) as a national user
# with individual-level rights, so figures are exact and comparable with the oracle's.

EXACT = Principal("oracle", Organisation("national"), frozenset({"individ"}))


def _by_key(result: AnalysisResult, measure: str) -> dict[tuple[Key, Key], Any]:
    return {k: v for k, v in result_cells(result, measure).items() if v != 0}


def test_analysis_admissions_by_municipality_and_year(raw: Raw, analysis: AnalysisService) -> None:
    """Routed to the person-year table; the same request filtered on priority (acute or planned:
    every stay) is routed to the stays, which alone carry it: same numbers."""
    somatic = [s for s in raw.stays if s.admission and s.sector == "somatik"]
    cells: Counter[tuple[Key, Key]] = Counter()
    for s in somatic:
        kommune = raw.municipality(s.pnr, s.start.date())
        for row in ((kommune,), TOTAL_KEY):
            for col in ((s.year,), TOTAL_KEY):
                cells[(row, col)] += 1
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["kommune"],
        "columns": ["aar"],
        "period": {"from": "2022", "to": "2023"},
    }
    by_person_year = analysis.run(request, EXACT)
    assert by_person_year.plan.queries[0].source.id == "person_year_hospital"
    assert _by_key(by_person_year, "indlaeggelser") == dict(cells)
    by_stays = analysis.run({**request, "filters": {"prioritet": [True, False]}}, EXACT)
    assert by_stays.plan.queries[0].source.id == "stays"
    assert _by_key(by_stays, "indlaeggelser") == dict(cells)


def test_both_routes_protect_a_table_alike(analysis: AnalysisService) -> None:
    """The person-year table's bases are counted from rows (exact only below the threshold), the
    stays' bases exactly: the same table must still hide the same cells, or two routes to one
    table would give away what either hides."""
    request = {
        "perspective": "somatik",
        "measures": ["indlaeggelser"],
        "rows": ["kommune"],
        "columns": ["aldersgruppe"],
        "period": {"from": "2023", "to": "2023"},
    }
    aggregate = Principal("analytiker", Organisation("national"), frozenset({"aggregeret"}))
    by_person_year = analysis.run(request, aggregate)
    by_stays = analysis.run({**request, "filters": {"prioritet": [True, False]}}, aggregate)
    assert [q.source.id for q in by_person_year.plan.queries] == ["person_year_hospital"]
    assert [q.source.id for q in by_stays.plan.queries] == ["stays"]
    (a,), (b,) = by_person_year.blocks, by_stays.blocks
    assert a.hidden["indlaeggelser"], "the table should need suppression"
    assert a.hidden["indlaeggelser"] == b.hidden["indlaeggelser"]
    assert a.values["indlaeggelser"] == b.values["indlaeggelser"]


def test_analysis_patients_are_distinct_persons(raw: Raw, analysis: AnalysisService) -> None:
    """Patients per year, and over both years (a person counted once, not once per year)."""
    per_year: defaultdict[Key, set[str]] = defaultdict(set)
    for c in raw.contacts:
        if c.sector == "somatik" and raw.municipality(c.pnr, c.start.date()) is not None:
            per_year[(c.start.year,)].add(c.pnr)
            per_year[TOTAL_KEY].add(c.pnr)
    result = analysis.run(
        {
            "perspective": "somatik",
            "measures": ["patienter"],
            "columns": ["aar"],
            "period": {"from": "2022", "to": "2023"},
        },
        EXACT,
    )
    actual = {col: v for (_, col), v in result_cells(result, "patienter").items()}
    assert actual == {k: len(v) for k, v in per_year.items()}


def test_analysis_gp_contacts_per_citizen(raw: Raw, analysis: AnalysisService) -> None:
    """Contacts from SSR at the residence on the day, over the average of the monthly resident counts."""
    year = max(raw.years)
    contacts: Counter[int | None] = Counter()
    for r in raw.services:
        if r["speciale"][:2] in GP_SPECIALTIES and r["behandlingsdato"].year == year:
            contacts[raw.municipality(r["pnr"], r["behandlingsdato"])] += r["kontakt"]
    residents: Counter[int] = Counter()
    for month in range(1, 13):
        residents.update(raw.residence.residents_on(date(year, month, 1)))
    expected = {(k,): contacts[k] / (residents[k] / 12) for k in residents if contacts[k]}
    result = analysis.run(
        {
            "perspective": "sygesikring",
            "measures": ["laegekontakter_pr_borger"],
            "rows": ["kommune"],
            "period": {"from": str(year)},
        },
        EXACT,
    )
    actual = {row: v for (row, _), v in result_cells(result, "laegekontakter_pr_borger").items() if row != TOTAL_KEY}
    assert {k: v for k, v in actual.items() if v} == pytest.approx(expected, rel=1e-9)


# --- attribution rules and coherent rates (issue 16) ------------------------------------------------


def _in_years(raw: Raw, day: date) -> bool:
    return day.year in raw.years


def _inner(result: AnalysisResult, measure: str) -> dict[Key, Any]:
    """The nonzero inner cells of a one-row-one-column table, keyed (row value, column value)."""
    cells = result_cells(result, measure)
    return {(r[0], c[0]): v for (r, c), v in cells.items() if r != TOTAL_KEY and c != TOTAL_KEY and v}


def test_benefit_weeks_where_the_citizen_lived_each_week(
    raw: Raw, small_extracts: Path, analysis: AnalysisService
) -> None:
    """Week by week: the ISO year of its Monday, the residence on that Monday (none: left out)."""
    weeks: Counter[Key] = Counter()
    recipients: defaultdict[Key, set[str]] = defaultdict(set)
    for spell in _rows(small_extracts, "dream_forloeb"):
        first, last = (date.fromisocalendar(w // 100, w % 100, 1) for w in (spell["fra_uge"], spell["til_uge"]))
        monday = first
        while monday <= last:
            kommune = raw.municipality(spell["pnr"], monday)
            year = monday.isocalendar().year
            if kommune is not None and year in raw.years:
                weeks[(kommune, year)] += 1
                recipients[(kommune, year)].add(spell["pnr"])
            monday += timedelta(days=7)
    assert len({k for k, _ in weeks}) > 50, "the synthetic data should hold benefit weeks in most municipalities"
    result = analysis.run(
        {
            "perspective": "beskaeftigelse",
            "measures": ["ydelsesuger", "ydelsesmodtagere"],
            "rows": ["kommune"],
            "columns": ["aar"],
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    assert _inner(result, "ydelsesuger") == dict(weeks)
    assert _inner(result, "ydelsesmodtagere") == {k: len(v) for k, v in recipients.items()}


def test_medicine_users_have_a_redemption_not_only_returns(
    raw: Raw, small_extracts: Path, analysis: AnalysisService
) -> None:
    """Users per municipality and month: distinct persons with a sale (positive quantity); a month
    whose only row of a person is a return does not count the person."""
    users: defaultdict[Key, set[str]] = defaultdict(set)
    rows = _rows(small_extracts, "lms_ekspeditioner")
    sales = {(r["pnr"], r["eksd"].year, r["eksd"].month) for r in rows if r["apk"] > 0}
    only_returns = 0
    for r in rows:
        day = r["eksd"]
        kommune = raw.municipality(r["pnr"], day)
        if kommune is None or not _in_years(raw, day):
            continue
        if r["apk"] > 0:
            users[(kommune, day.year * 100 + day.month)].add(r["pnr"])
        elif (r["pnr"], day.year, day.month) not in sales:
            only_returns += 1
    assert only_returns > 0, "the synthetic data should hold a month with only a return"
    result = analysis.run(
        {
            "perspective": "medicin",
            "measures": ["medicinbrugere"],
            "rows": ["kommune"],
            "columns": ["maaned"],
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    assert _inner(result, "medicinbrugere") == {k: len(v) for k, v in users.items()}


def test_cofinancing_per_admission_in_the_year_and_municipality_of_the_admission(
    raw: Raw, warehouse: duckdb.DuckDBPyConnection, analysis: AnalysisService
) -> None:
    """Each stay's capped amount in full where and when the stay starts, so co-financing per
    admission is the same whichever table it is read from; plus virtual contacts on their date."""
    per_admission: dict[Key, float] = defaultdict(float)
    admissions: Counter[Key] = Counter()
    total: dict[Key, float] = defaultdict(float)
    rows: Counter[Key] = Counter()
    for s in raw.stays:
        kommune = raw.municipality(s.pnr, s.start.date())
        if kommune is None or s.sector != "somatik":
            continue
        amount = stay_cofinancing(raw, s)
        total[(kommune, s.year)] += amount
        rows[(kommune, s.year)] += 1
        if s.admission:
            per_admission[(kommune, s.year)] += amount
            admissions[(kommune, s.year)] += 1
    assert any(s.start.year != s.end.year for s in raw.stays if s.admission), "some stay should cross New Year"
    for c in raw.contacts:
        kommune = raw.municipality(c.pnr, c.start.date())
        if c.kont_type not in PHYSICAL_TYPES and kommune is not None and not c.psychiatric:
            total[(kommune, c.start.year)] += virtual_cofinancing(raw, c)
            rows[(kommune, c.start.year)] += 1
    booked = query(
        warehouse,
        "SELECT kommunekode, year, sum(kmf_kr), count(*) FROM hospital_cofinancing "
        "WHERE admission AND sector = 'somatik' GROUP BY ALL",
        2,
    )
    assert {k: int(v[1]) for k, v in booked.items()} == dict(admissions)
    assert_money_equal(dict(per_admission), {k: float(v[0]) for k, v in booked.items()}, admissions)
    result = analysis.run(
        {
            "perspective": "somatik",
            "measures": ["medfinansiering_kr"],
            "rows": ["kommune"],
            "columns": ["aar"],
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    actual = {k: float(v) for k, v in _inner(result, "medfinansiering_kr").items()}
    assert_money_equal({k: v for k, v in total.items() if v}, actual, rows)


def test_persons_per_1000_over_everyone_who_could_be_counted(raw: Raw, analysis: AnalysisService) -> None:
    """Practice users per 1,000 per municipality and year: users there over everyone who lived there
    some day of the year; over both years, users once per year over residents once per year."""
    users: defaultdict[Key, set[str]] = defaultdict(set)
    for r in raw.services:
        day = r["behandlingsdato"]
        kommune = raw.municipality(r["pnr"], day)
        if kommune is not None and _in_years(raw, day):
            users[(kommune, day.year)].add(r["pnr"])
    at_risk: defaultdict[Key, set[str]] = defaultdict(set)
    for pnr in raw.residence.periods:
        for year in raw.years:
            first = max(date(year, 1, 1), raw.birth[pnr])
            for kommune in raw.residence.lived_in(pnr, first, date(year + 1, 1, 1)):
                at_risk[(kommune, year)].add(pnr)
    expected: dict[Key, float] = {}
    for kommune in {k for k, _ in at_risk}:
        n = sum(len(users[(kommune, y)]) for y in raw.years)
        d = sum(len(at_risk[(kommune, y)]) for y in raw.years)
        expected[(kommune, "total")] = 1000 * n / d
        for y in raw.years:
            if at_risk[(kommune, y)]:
                expected[(kommune, y)] = 1000 * len(users[(kommune, y)]) / len(at_risk[(kommune, y)])
    result = analysis.run(
        {
            "perspective": "sygesikring",
            "measures": ["praksisbrugere_pr_1000"],
            "rows": ["kommune"],
            "columns": ["aar"],
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    actual = {
        (r[0], c[0]): v
        for (r, c), v in result_cells(result, "praksisbrugere_pr_1000").items()
        if r != TOTAL_KEY and v is not None and (r[0], c[0]) in expected
    }
    assert actual == pytest.approx(expected, rel=1e-12)
    assert max(actual.values()) <= 1000


def test_a_rate_over_two_years_is_per_citizen_year(raw: Raw, analysis: AnalysisService) -> None:
    """Psychiatric admissions per 1,000 over both years: admissions over citizen-years, every one of
    the 98 municipalities listed (a true 0 where no one was admitted)."""
    admissions: Counter[int] = Counter()
    for s in raw.stays:
        kommune = raw.municipality(s.pnr, s.start.date())
        if s.admission and s.sector == "psykiatri" and kommune is not None:
            admissions[kommune] += 1
    resident_months: Counter[int] = Counter()
    for year in raw.years:
        for month in range(1, 13):
            resident_months.update(raw.residence.residents_on(date(year, month, 1)))
    expected = {k: 1000 * admissions[k] / (n / 12) for k, n in resident_months.items()}
    result = analysis.run(
        {
            "perspective": "psykiatri",
            "measures": ["indlaeggelser_pr_1000", "indlaeggelser"],
            "rows": ["kommune"],
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    rates = {r[0]: v for (r, _), v in result_cells(result, "indlaeggelser_pr_1000").items() if r != TOTAL_KEY}
    assert len(rates) == 98
    assert {k: v for k, v in rates.items() if v is not None} == pytest.approx(expected, rel=1e-12)
    counts = {r[0]: v for (r, _), v in result_cells(result, "indlaeggelser").items() if r != TOTAL_KEY}
    assert {k for k, v in counts.items() if v == 0} == set(counts) - set(admissions)


def test_admissions_and_their_cofinancing_by_month_fall_in_the_same_cell(raw: Raw, analysis: AnalysisService) -> None:
    """Admissions and the co-financing of admissions, by municipality and month: both where and
    when the stay starts, so co-financing per admission is the mean of those admissions' amounts
    in every cell (a stay across a month's end or New Year is not split)."""
    count: Counter[Key] = Counter()
    amount: dict[Key, float] = defaultdict(float)
    for s in raw.stays:
        kommune = raw.municipality(s.pnr, s.start.date())
        if s.admission and s.sector == "somatik" and kommune is not None:
            key = (kommune, s.start.year * 100 + s.start.month)
            count[key] += 1
            amount[key] += stay_cofinancing(raw, s)
    crossing = [s for s in raw.stays if s.admission and s.sector == "somatik" and s.start.month != s.end.month]
    assert crossing, "some admission should end in a later month than it starts"
    result = analysis.run(
        {
            "perspective": "somatik",
            "measures": ["indlaeggelser", "medfinansiering_kr"],
            "rows": ["kommune"],
            "columns": ["maaned"],
            "filters": {"patienttype": ["indlagt"]},
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    assert _inner(result, "indlaeggelser") == dict(count)
    booked = {k: float(v) for k, v in _inner(result, "medfinansiering_kr").items()}
    assert_money_equal({k: v for k, v in amount.items() if v}, booked, count)


def test_specialist_services_and_contacts_are_different_things(
    raw: Raw, small_extracts: Path, analysis: AnalysisService
) -> None:
    """Services (ydlant) and contacts (kontakt) of practising specialists per municipality and
    year, at the residence on the day: a contact carries one or more services, so there are never
    fewer services than contacts, and more wherever more than a handful of contacts were made."""
    services: Counter[Key] = Counter()
    contacts: Counter[Key] = Counter()
    for r in raw.services:
        day = r["behandlingsdato"]
        kommune = raw.municipality(r["pnr"], day)
        if service_group(r["speciale"]) == "speciallaege" and kommune is not None and _in_years(raw, day):
            services[(kommune, day.year)] += r["ydlant"]
            contacts[(kommune, day.year)] += r["kontakt"]
    result = analysis.run(
        {
            "perspective": "sygesikring",
            "measures": ["ydelser", "sygesikring_kontakter"],
            "rows": ["kommune"],
            "columns": ["aar"],
            "filters": {"ydergruppe": ["speciallaege"]},
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    assert _inner(result, "ydelser") == {k: v for k, v in services.items() if v}
    assert _inner(result, "sygesikring_kontakter") == {k: v for k, v in contacts.items() if v}
    assert all(services[k] >= n for k, n in contacts.items())
    busy = {k for k, n in contacts.items() if n >= 20}
    assert len(busy) > 20 and all(services[k] > contacts[k] for k in busy), {
        k: (services[k], contacts[k]) for k in busy
    }


def _residence_in_month(raw: Raw, pnr: str, first: date) -> int | None:
    """The residence on the month's 1st, or on the first day of residence later in the month."""
    kommune = raw.municipality(pnr, first)
    if kommune is not None:
        return kommune
    end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    arrivals = sorted((fra, k) for fra, _, k in raw.residence.periods.get(pnr, []) if first <= fra < end)
    return arrivals[0][1] if arrivals else None


def test_home_care_months_where_the_citizen_lived(raw: Raw, small_extracts: Path, analysis: AnalysisService) -> None:
    """Home-care recipients and hours per municipality and month: the municipality of residence on
    the month's 1st (or on arrival later in the month), not the municipality of the care record."""
    recipients: defaultdict[Key, set[str]] = defaultdict(set)
    hours: dict[Key, float] = defaultdict(float)
    rows: Counter[Key] = Counter()
    elsewhere = 0
    for r in _rows(small_extracts, "eoj_hjemmepleje"):
        month = r["maaned"]
        kommune = _residence_in_month(raw, r["pnr"], month)
        if kommune is None or not _in_years(raw, month):
            continue
        elsewhere += kommune != int(r["kommunekode"])
        key = (kommune, month.year * 100 + month.month)
        recipients[key].add(r["pnr"])
        hours[key] += float(r["leverede_timer"])
        rows[key] += 1
    assert elsewhere > 0, "the synthetic data should hold care recorded by another municipality than the residence"
    result = analysis.run(
        {
            "perspective": "pleje",
            "measures": ["hjemmepleje_modtagere", "hjemmepleje_timer"],
            "rows": ["kommune"],
            "columns": ["maaned"],
            "period": {"from": str(min(raw.years)), "to": str(max(raw.years))},
        },
        EXACT,
    )
    assert _inner(result, "hjemmepleje_modtagere") == {k: len(v) for k, v in recipients.items()}
    delivered = {k: float(v) for k, v in _inner(result, "hjemmepleje_timer").items()}
    assert_money_equal({k: v for k, v in hours.items() if v}, delivered, rows)


def test_cohort_profile_gp_contacts_from_the_raw_extracts(
    raw: Raw, small_load: LoadResult, small_settings: Any, small_extracts: Path, tmp_path: Path
) -> None:
    """A profile figure of a cohort (its general practice contacts in the profile's year) counted
    from the raw CPR and health-insurance extracts by CPR number: the cohort reaches the facts
    through pseudonyms only, and the oracle never sees a pseudonym."""
    import dataclasses

    from cohort_support import InMemoryCohorts, make_cohort, residents_on
    from koes.services.cohort_profile import cohort_profile

    people = residents_on(small_extracts)
    chosen = sorted(n for n, k in people.items() if k is not None)[::7][:150]
    cohort = make_cohort(small_settings, tmp_path, chosen, owner=EXACT.user)
    store = InMemoryCohorts()
    store.add(dataclasses.replace(cohort, organisation=str(EXACT.organisation)))
    service = AnalysisService(small_settings, cohorts=store)
    try:
        profile = cohort_profile(service, EXACT, cohort.id)
    finally:
        service.close()
    members = set(chosen)
    contacts = sum(
        r["kontakt"]
        for r in raw.services
        if r["pnr"] in members
        and r["speciale"][:2] in GP_SPECIALTIES
        and r["behandlingsdato"].year == profile.year
        and raw.municipality(r["pnr"], r["behandlingsdato"]) is not None
    )
    (gp,) = [u for u in profile.use if u.label.startswith("Kontakter til almen praksis")]
    assert contacts > 0 and gp.observed == contacts

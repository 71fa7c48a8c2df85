"""The synthetic LPR3/DRG/færdigbehandlede extracts: layout, integrity and national volumes.

The volumes are measured independently of the generator: DuckDB couples each person's physical
contacts into stays (≤ 4 h apart) and counts admissions (stays ≥ 12 h) the way the warehouse
will (domain-notes §1.3–§1.4, §6).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from koes.domain.codelists import CODE_LISTS, HOVEDSPECIALE
from koes.domain.preventable import PREVENTABLE_GROUPS
from koes.domain.registers import REGISTERS
from koes.refdata import RefData, load_refdata
from koes.synthetic.context import ChunkContext, IdAllocator
from koes.synthetic.hospital import generate_hospital
from koes.synthetic.hospital_catalog import DRG_GROUPS, REASONS, STAY_KINDS
from koes.synthetic.population import PnrRegistry, Population, generate_population

PERSONS = 20_000
SEED = 20220101
START, END = date(2022, 1, 1), date(2022, 12, 31)
TABLES = (
    "lpr_forloebselementer",
    "lpr_kontakter",
    "lpr_diagnoser",
    "lpr_procedurer",
    "drg_kontakter",
    "faerdigbehandlede",
)
PSYCHIATRIC = HOVEDSPECIALE.where(sector="psykiatri")

# National targets per 1,000 person-years (domain-notes §6, §1.3); the test allows ±20 %.
ADMISSIONS_PER_1000 = 133.6
OUTPATIENT_STAYS_PER_1000 = 2065.0
PREVENTABLE_PER_1000_65 = 59.5
TOLERANCE = 0.20


@dataclass(frozen=True)
class Generated:
    pop: Population
    tables: dict[str, pa.Table]


def _generate(refdata: RefData, seed: int, persons: int = PERSONS, start: date = START) -> Generated:
    ctx = ChunkContext(
        seed=seed,
        chunk=0,
        start=start,
        end=END,
        refdata=refdata,
        ids=IdAllocator(),
    )
    pop = generate_population(ctx, persons, PnrRegistry())
    return Generated(pop, generate_hospital(pop, ctx))


@pytest.fixture(scope="module")
def refdata() -> RefData:
    return load_refdata()


@pytest.fixture(scope="module")
def generated(refdata: RefData) -> Generated:
    return _generate(refdata, SEED)


@pytest.fixture(scope="module")
def tables(generated: Generated) -> dict[str, pa.Table]:
    return generated.tables


@pytest.fixture(scope="module")
def db(generated: Generated) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    for name, table in generated.tables.items():
        con.register(name, table)
    pop = generated.pop
    persons = pa.table(
        {
            "pnr": pa.array(pop.pnr, pa.string()),
            "birth": pa.array(pop.birth),
            "entry": pa.array(pop.entry),
            "exit": pa.array(pop.exit),
        }
    )
    con.register("persons", persons)
    con.execute(STAYS_SQL)
    yield con
    con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    row = con.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


def _column(table: pa.Table, name: str) -> list[str]:
    return [str(v) for v in table[name].to_pylist()]


# --- Layout -------------------------------------------------------------------------------------


def test_returns_the_six_registers_in_their_declared_layout(tables: dict[str, pa.Table]) -> None:
    from koes.synthetic.writer import arrow_schema, conform

    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        assert table.num_rows > 0, name
        conformed = conform(table, REGISTERS[name])
        assert conformed.schema.equals(arrow_schema(REGISTERS[name])), name


def test_codes_come_from_the_declared_code_lists(tables: dict[str, pa.Table], refdata: RefData) -> None:
    for name, table in tables.items():
        for column in REGISTERS[name].columns:
            values = set(pc.unique(table[column.name].drop_null()).to_pylist())
            if column.codes is not None and column.codes in CODE_LISTS:
                assert values <= set(CODE_LISTS[column.codes].values), (name, column.name)
            elif column.codes:
                allowed = refdata.code_list(column.codes)
                prefix = column.code_prefix
                found = {v[:prefix] if prefix else v for v in values}
                assert found <= allowed, (name, column.name, found - allowed)
            if column.pattern:
                bad = [v for v in values if not re.fullmatch(column.pattern, str(v))]
                assert not bad, (name, column.name, bad[:5])
            if column.required:
                assert table[column.name].null_count == 0, (name, column.name)


def test_keys_are_unique(tables: dict[str, pa.Table]) -> None:
    for name, table in tables.items():
        key = REGISTERS[name].key
        assert table.group_by(list(key)).aggregate([]).num_rows == table.num_rows, name


# --- Integrity ----------------------------------------------------------------------------------


def test_every_contact_belongs_to_a_course_of_the_same_person(
    db: duckdb.DuckDBPyConnection,
) -> None:
    orphans = _one(
        db,
        """select count(*) from lpr_kontakter k
           left join lpr_forloebselementer f using (dw_ek_forloeb)
           where f.pnr is null or f.pnr <> k.pnr""",
    )
    assert orphans == 0
    outside = _one(
        db,
        """select count(*) from lpr_kontakter k join lpr_forloebselementer f using (dw_ek_forloeb)
           where f.dato_start > cast(k.kont_starttidspunkt as date)
              or f.dato_slut < cast(k.kont_sluttidspunkt as date)""",
    )
    assert outside == 0
    # Courses hold repeated visits, so there are fewer courses than contacts.
    assert _one(db, "select count(*) from lpr_forloebselementer") < _one(db, "select count(*) from lpr_kontakter")


def test_rows_point_at_existing_contacts(db: duckdb.DuckDBPyConnection) -> None:
    for name in ("lpr_diagnoser", "lpr_procedurer", "drg_kontakter", "faerdigbehandlede"):
        missing = _one(
            db,
            f"""select count(*) from {name} r
                where not exists (select 1 from lpr_kontakter k
                                  where k.dw_ek_kontakt = r.dw_ek_kontakt)""",
        )
        assert missing == 0, name


def test_one_action_diagnosis_per_contact_equal_to_adiag(db: duckdb.DuckDBPyConnection) -> None:
    wrong = _one(
        db,
        """select count(*) from lpr_kontakter k
           left join (select dw_ek_kontakt, count(*) n, any_value(diag_kode) kode
                      from lpr_diagnoser where diag_kode_type = 'A' group by 1) a
           using (dw_ek_kontakt)
           where a.n is null or a.n <> 1 or a.kode <> k.adiag""",
    )
    assert wrong == 0
    most_b = _one(
        db,
        """select max(n) from (select count(*) n from lpr_diagnoser
           where diag_kode_type = 'B' group by dw_ek_kontakt)""",
    )
    assert most_b <= 3


def test_drg_for_every_somatic_contact_and_no_psychiatric_one(
    db: duckdb.DuckDBPyConnection,
) -> None:
    psych = ", ".join(f"'{s}'" for s in PSYCHIATRIC)
    on_psychiatry = _one(
        db,
        f"""select count(*) from drg_kontakter d join lpr_kontakter k using (dw_ek_kontakt)
            where k.kont_ans_hovedspec in ({psych})""",
    )
    assert on_psychiatry == 0
    without = _one(
        db,
        f"""select count(*) from lpr_kontakter k
            where k.kont_ans_hovedspec not in ({psych})
              and not exists (select 1 from drg_kontakter d
                              where d.dw_ek_kontakt = k.dw_ek_kontakt)""",
    )
    assert without == 0
    assert _one(db, "select count(*) from drg_kontakter where takst_aar <> 2022") == 0


def test_contacts_only_while_present_and_within_the_period(
    db: duckdb.DuckDBPyConnection,
) -> None:
    outside = _one(
        db,
        """select count(*) from lpr_kontakter k join persons p using (pnr)
           where cast(k.kont_starttidspunkt as date) < p.entry
              or cast(k.kont_sluttidspunkt as date) > p.exit
              or k.kont_sluttidspunkt <= k.kont_starttidspunkt
              or k.kont_starttidspunkt < date '2022-01-01'
              or k.kont_sluttidspunkt >= date '2023-01-01'""",
    )
    assert outside == 0


def test_contacts_of_a_person_never_overlap(db: duckdb.DuckDBPyConnection) -> None:
    overlapping = _one(
        db,
        """select count(*) from (
             select kont_starttidspunkt s,
                    lag(kont_sluttidspunkt) over (partition by pnr
                        order by kont_starttidspunkt) prev_end
             from lpr_kontakter) where s < prev_end""",
    )
    assert overlapping == 0


def test_procedures_start_within_their_contact_and_lead_with_a_primary(
    db: duckdb.DuckDBPyConnection,
) -> None:
    outside = _one(
        db,
        """select count(*) from lpr_procedurer p join lpr_kontakter k using (dw_ek_kontakt)
           where p.dato_start < k.kont_starttidspunkt or p.dato_start > k.kont_sluttidspunkt""",
    )
    assert outside == 0
    not_one_primary = _one(
        db,
        """select count(*) from (select dw_ek_kontakt, count(*) filter
             (where proceduretype = 'P') n from lpr_procedurer group by 1) where n <> 1""",
    )
    assert not_one_primary == 0


def test_discharge_ready_periods_end_their_admission(db: duckdb.DuckDBPyConnection) -> None:
    wrong = _one(
        db,
        """select count(*) from faerdigbehandlede f join lpr_kontakter k using (dw_ek_kontakt)
           where f.til_dato <> cast(k.kont_sluttidspunkt as date)
              or f.til_dato <= f.fra_dato
              or f.til_dato - f.fra_dato > case when f.sektor = 'psykiatri' then 365 else 20 end
              or f.pnr <> k.pnr
              or f.sektor <> case when k.kont_ans_hovedspec in ('psykiatri',
                   'boerne_ungdomspsykiatri') then 'psykiatri' else 'somatik' end""",
    )
    assert wrong == 0
    # fra_dato lies within the admission (the stay holding the contact).
    before_admission = _one(
        db,
        """select count(*) from faerdigbehandlede f
           left join stays s on s.last_contact = f.dw_ek_kontakt
           where s.s is null or f.fra_dato < cast(s.s as date)
              or s.e - s.s < interval 12 hour""",
    )
    assert before_admission == 0


def test_some_admissions_include_a_transfer_within_the_region(db: duckdb.DuckDBPyConnection, refdata: RefData) -> None:
    region = {h.hospital_id: h.region_code for h in refdata.hospitals}
    pairs = db.execute(
        """select first_inst, last_inst from stays
           where e - s >= interval 12 hour and first_inst <> last_inst"""
    ).fetchall()
    admissions = _one(db, "select count(*) from stays where e - s >= interval 12 hour")
    assert 0.02 < len(pairs) / admissions < 0.10
    assert all(region[a] == region[b] for a, b in pairs)


def test_acute_admissions_mostly_start_in_the_emergency_department(
    db: duckdb.DuckDBPyConnection,
) -> None:
    share = _one(
        db,
        """select avg((first_spec = 'akutmedicin')::int) from stays
           where e - s >= interval 12 hour and prioritet = 'ATA1' and not psych""",
    )
    assert 0.5 < share < 0.95


# --- Determinism ---------------------------------------------------------------------------------


def test_same_seed_same_tables_other_seed_other_tables(refdata: RefData, tables: dict[str, pa.Table]) -> None:
    again = _generate(refdata, SEED).tables
    for name in TABLES:
        assert again[name].equals(tables[name]), name
    other = _generate(refdata, SEED + 1).tables
    assert not other["lpr_kontakter"].equals(tables["lpr_kontakter"])


# --- Volumes (independent SQL) -------------------------------------------------------------------

STAYS_SQL = """
create temp table stays as
with physical as (
    select pnr, dw_ek_kontakt, kont_starttidspunkt s, kont_sluttidspunkt e, prioritet, adiag,
           kont_ans_hovedspec spec, kont_ans_inst inst
    from lpr_kontakter where kont_type in ('ALCA00', 'ALCA10')
), ordered as (
    select *, max(e) over (partition by pnr order by s, dw_ek_kontakt
                           rows between unbounded preceding and 1 preceding) latest_end
    from physical
), numbered as (
    select *, sum(case when latest_end is null or s > latest_end + interval 4 hour
                       then 1 else 0 end)
              over (partition by pnr order by s, dw_ek_kontakt) stay_no
    from ordered
)
select pnr, stay_no, min(s) s, max(e) e,
       arg_min(prioritet, s) prioritet, arg_min(adiag, s) adiag,
       arg_min(spec, s) first_spec, arg_min(inst, s) first_inst, arg_max(inst, s) last_inst,
       arg_max(dw_ek_kontakt, e) last_contact,
       bool_or(spec in ('psykiatri', 'boerne_ungdomspsykiatri')) psych
from numbered group by pnr, stay_no
"""

AGE_AT = """(date_diff('year', p.birth, {day})
             - case when strftime({day}, '%m%d') < strftime(p.birth, '%m%d') then 1 else 0 end)"""


def _person_years(db: duckdb.DuckDBPyConnection, where: str = "true") -> float:
    return _one(db, f"select sum(p.exit - p.entry + 1) / 365.25 from persons p where {where}")


def _preventable_condition() -> str:
    prefixes = [p for g in PREVENTABLE_GROUPS for p in g.prefixes]
    return "(" + " or ".join(f"starts_with(adiag, '{p}')" for p in prefixes) + ")"


def test_admissions_and_outpatient_stays_match_national_rates(
    db: duckdb.DuckDBPyConnection,
) -> None:
    per_1000 = 1000 / _person_years(db)
    admissions = _one(db, "select count(*) from stays where e - s >= interval 12 hour")
    outpatient = _one(db, "select count(*) from stays where e - s < interval 12 hour")
    assert admissions * per_1000 == pytest.approx(ADMISSIONS_PER_1000, rel=TOLERANCE)
    assert outpatient * per_1000 == pytest.approx(OUTPATIENT_STAYS_PER_1000, rel=TOLERANCE)


def test_preventable_admissions_of_the_elderly_match_the_national_rate(
    db: duckdb.DuckDBPyConnection,
) -> None:
    person_years_65 = _person_years(db, f"{AGE_AT.format(day='p.entry')} >= 65")
    preventable = _one(
        db,
        f"""select count(*) from stays st join persons p using (pnr)
            where st.e - st.s >= interval 12 hour and st.prioritet = 'ATA1'
              and {AGE_AT.format(day="cast(st.s as date)")} >= 65
              and {_preventable_condition()}""",
    )
    rate = 1000 * preventable / person_years_65
    assert rate == pytest.approx(PREVENTABLE_PER_1000_65, rel=TOLERANCE)


def test_readmission_share_is_realistic(db: duckdb.DuckDBPyConnection) -> None:
    share = _one(
        db,
        """with adm as (select pnr, s, e, prioritet from stays
                        where e - s >= interval 12 hour)
           select avg((exists (select 1 from adm b where b.pnr = a.pnr
                               and b.prioritet = 'ATA1' and b.s > a.e
                               and b.s <= a.e + interval 30 day))::int)
           from adm a""",
    )
    assert 0.05 <= share <= 0.20


def test_use_is_concentrated_on_fewer_patients(db: duckdb.DuckDBPyConnection, generated: Generated) -> None:
    patients = _one(db, "select count(distinct pnr) from lpr_kontakter")
    contacts = _one(db, "select count(*) from lpr_kontakter")
    assert patients < 0.75 * len(generated.pop)
    assert contacts > 3 * patients


# --- The catalogue -------------------------------------------------------------------------------


def test_catalogue_codes_exist_and_reasons_are_reachable(refdata: RefData) -> None:
    categories = refdata.sks_categories
    for reason in REASONS:
        for code in reason.codes:
            assert code[:4] in categories, (reason.key, code)
            assert re.fullmatch(r"D[A-Z]\d{2}[0-9A-Z]{0,3}", code), code
        assert reason.codes or reason.person_code, reason.key
    for group in DRG_GROUPS:
        assert re.fullmatch(r"\d{2}[A-Z]{2}\d{2}", group.code), group.code
    for kind in STAY_KINDS:
        # Reasons tied to a condition need the person to have it: only in condition mixes.
        by_key = {r.key: r for r in REASONS}
        assert all(by_key[key].person_code is None for key, _ in kind.base_mix), kind.key
        for condition, mix in kind.condition_mix.items():
            assert all(by_key[k].person_code in (None, condition) for k, _ in mix), kind.key


def test_tariffs_follow_the_catalogue(tables: dict[str, pa.Table]) -> None:
    tariff = {g.code: g.tariff for g in DRG_GROUPS}
    drg = tables["drg_kontakter"]
    codes = np.array(_column(drg, "drg_kode"))
    takst = drg["takst"].to_numpy()
    expected = np.array([tariff[c] for c in codes])
    assert np.allclose(takst, expected)


def test_tariffs_are_indexed_from_the_first_year_of_the_period(refdata: RefData) -> None:
    tables = _generate(refdata, SEED, persons=2_000, start=date(2021, 1, 1)).tables
    tariff = {g.code: g.tariff for g in DRG_GROUPS}
    drg = tables["drg_kontakter"].join(tables["lpr_kontakter"], "dw_ek_kontakt")
    year = pc.year(drg["kont_starttidspunkt"]).to_numpy()
    assert set(year) == {2021, 2022}
    assert np.array_equal(drg["takst_aar"].to_numpy(), year)
    expected = np.array([tariff[c] for c in _column(drg, "drg_kode")]) * 1.02 ** (year - 2021)
    assert np.allclose(drg["takst"].to_numpy(), np.round(expected))

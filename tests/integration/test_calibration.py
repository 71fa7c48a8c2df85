"""The synthetic Denmark at 1:100 against published national figures (`koes calibration`).

One generation of 59,000 persons over 2022–2024 (the demo's scale) per module. Every declared
figure must come out at its expected ratio (1, or the ratio its stated reason gives) within its
tolerance, which is tight enough to catch the deviations issue 16 listed (psychiatric patients
× 3, admissions × 0.5, benefit groups 0.71–1.55, nursing homes × 1.4, home-help hours × 1.2,
practice co-financing × 0.8, practice users ≈ 100 %, home care falling 19 % in two years). A few
tallies are recomputed with independent SQL over the files, so the table measures the files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from koes.cli.main import app
from koes.domain.periods import YearRange
from koes.refdata import load_refdata
from koes.synthetic.calibration import END_MARK, START_MARK, CalibrationRow, calibration_table, measure
from koes.synthetic.extracts import ExtractFolder
from koes.synthetic.figures import load_figures
from koes.synthetic.generate import GenerationRequest, generate
from koes.synthetic.tally import Tally

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("generation")]
PERSONS, YEARS, SEED = 59_000, YearRange(2022, 2024), 1


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calibration") / "extracts"
    generate(GenerationRequest(PERSONS, YEARS, SEED, out), load_refdata())
    return out


@pytest.fixture(scope="module")
def tally(extracts: Path) -> Tally:
    return measure(ExtractFolder.open(extracts), YEARS)


@pytest.fixture(scope="module")
def rows(tally: Tally) -> list[CalibrationRow]:
    return calibration_table(load_figures(), tally)


def test_every_figure_is_at_its_expected_ratio_within_its_tolerance(rows: list[CalibrationRow]) -> None:
    off = {
        r.figure.id: (round(r.ratio, 3) if r.ratio is not None else None, r.figure.expected_ratio)
        for r in rows
        if r.ratio is None or abs(r.ratio - r.figure.expected_ratio) > r.figure.tolerance
    }
    assert off == {}


def test_home_care_psychiatry_and_benefits_hold_steady_over_the_years(tally: Tally) -> None:
    for name in ("home_help_recipients", "psych_patients", "benefit_foertidspension", "rx_redemptions"):
        per_year = tally.get(name)
        assert max(per_year.values()) / min(per_year.values()) < 1.08, (name, per_year)


def test_independent_sql_over_the_files_agrees_with_the_tallies(extracts: Path, tally: Tally) -> None:
    f = extracts
    con = duckdb.connect()
    psych = con.execute(
        f"""select count(distinct pnr) from '{f}/lpr_kontakter.parquet'
            where kont_ans_hovedspec in ('psykiatri', 'boerne_ungdomspsykiatri')
              and kont_type in ('ALCA00', 'ALCA10') and year(kont_starttidspunkt) = 2023"""
    ).fetchone()
    gp = con.execute(
        f"""select sum(kontakt) from '{f}/ssr_ydelser.parquet'
            where substr(speciale, 1, 2) in ('80', '81') and year(behandlingsdato) = 2023"""
    ).fetchone()
    weeks = con.execute(
        f"""select count(*) from (select unnest(range(fra_uge, til_uge + 1)) w
              from '{f}/dream_forloeb.parquet' where ydelseskode in ('781', '783'))
            where w between 202301 and 202352"""
    ).fetchone()
    home_help = con.execute(
        f"""select count(distinct (pnr, maaned)) from '{f}/eoj_hjemmepleje.parquet'
            where ydelsesgruppe in ('personlig_pleje', 'praktisk_hjaelp') and year(maaned) = 2023"""
    ).fetchone()
    assert psych is not None and gp is not None and weeks is not None and home_help is not None
    assert tally.get("psych_patients")[2023] == psych[0]
    assert tally.get("gp_contacts")[2023] == gp[0]
    assert tally.get("benefit_foertidspension")[2023] == pytest.approx(weeks[0] / 52)
    assert tally.get("home_help_recipients")[2023] == pytest.approx(home_help[0] / 12)


def test_the_command_prints_the_table_and_writes_it_into_the_docs(extracts: Path, tmp_path: Path) -> None:
    doc = tmp_path / "synthetic-data.md"
    doc.write_text(f"# The synthetic Denmark\n\n{START_MARK}\n(old)\n{END_MARK}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["calibration", str(extracts), "--docs", str(doc)])
    assert result.exit_code == 0, result.output
    assert "psych_patients" in result.output and "kmf_share_practice" in result.output
    text = doc.read_text(encoding="utf-8")
    assert "(old)" not in text
    assert text.count("\n| ") >= 25 + 7  # a row per figure and a heading row per perspective
    assert "Persons treated in psychiatric hospitals" in text


def test_a_folder_that_is_not_an_extract_set_gets_a_clear_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["calibration", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a complete extract set" in result.output

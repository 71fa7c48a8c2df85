"""Age, age band schemes, year ranges and ISO week codes."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest

from koes.domain.periods import (
    AgeBand,
    AgeBandScheme,
    YearRange,
    age_on,
    check_week_code,
    is_week_code,
    iso_week_code,
    load_age_band_schemes,
    parse_age_band,
    parse_years,
    week_monday,
    weeks_in_iso_year,
)

# --- age_on -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1980, 6, 15), date(1980, 6, 15), 0),
        (date(1980, 6, 15), date(2000, 6, 14), 19),
        (date(1980, 6, 15), date(2000, 6, 15), 20),
        (date(1980, 12, 31), date(1981, 1, 1), 0),
    ],
)
def test_age_in_completed_years(birth: date, on: date, age: int) -> None:
    assert age_on(birth, on) == age


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (date(2001, 2, 28), 0),  # non-leap year: no birthday yet on 28 February
        (date(2001, 3, 1), 1),  # ... it is counted on 1 March
        (date(2018, 2, 28), 17),
        (date(2018, 3, 1), 18),
        (date(2004, 2, 28), 3),
        (date(2004, 2, 29), 4),  # leap year: the birthday itself
    ],
)
def test_age_of_someone_born_on_29_february(on: date, age: int) -> None:
    assert age_on(date(2000, 2, 29), on) == age


def test_age_before_birth_raises() -> None:
    with pytest.raises(ValueError, match="before the birth date"):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


# --- age bands --------------------------------------------------------------------------------

SHIPPED = {
    "fem_aar": (
        *(f"{lo}-{lo + 4}" for lo in range(0, 85, 5)),
        "85+",
    ),
    "koes": ("0-2", "3-17", "18-24", "25-44", "45-64", "65-74", "75-84", "85+"),
    "bred": ("0-17", "18-64", "65+"),
    "aeldre": ("0-64", "65-74", "75-79", "80-84", "85-89", "90+"),
}


def test_shipped_schemes_have_the_declared_bands() -> None:
    schemes = load_age_band_schemes()
    assert {sid: s.labels for sid, s in schemes.items()} == SHIPPED
    assert schemes["fem_aar"].labels[-2:] == ("80-84", "85+")
    for sid, scheme in schemes.items():
        assert scheme.id == sid
        assert scheme.label_da
        assert scheme.label_en


@pytest.mark.parametrize("scheme_id", sorted(SHIPPED))
def test_shipped_schemes_are_contiguous_from_zero_to_open_end(scheme_id: str) -> None:
    bands = load_age_band_schemes()[scheme_id].bands
    assert bands[0].lower == 0
    assert bands[-1].upper is None
    for prev, band in itertools.pairwise(bands):
        assert prev.upper is not None
        assert band.lower == prev.upper + 1


@pytest.mark.parametrize(
    ("age", "label"),
    [
        (0, "0-2"),
        (2, "0-2"),
        (3, "3-17"),
        (17, "3-17"),
        (18, "18-24"),
        (64, "45-64"),
        (65, "65-74"),
        (84, "75-84"),
        (85, "85+"),
        (117, "85+"),
    ],
)
def test_band_of_koes(age: int, label: str) -> None:
    assert load_age_band_schemes()["koes"].band_of(age).label == label


def test_every_age_falls_in_exactly_one_band() -> None:
    for scheme in load_age_band_schemes().values():
        for age in range(121):
            containing = [b for b in scheme.bands if age in b]
            assert containing == [scheme.band_of(age)]


def test_band_of_negative_age_raises() -> None:
    with pytest.raises(ValueError):
        load_age_band_schemes()["bred"].band_of(-1)


def test_parse_age_band() -> None:
    assert parse_age_band("18-24") == AgeBand(18, 24, "18-24")
    assert parse_age_band(" 85+ ") == AgeBand(85, None, "85+")
    assert parse_age_band("5 - 9") == AgeBand(5, 9, "5-9")
    for bad in ("", "18", "18-", "-5", "a-b", "85++", "24-18"):
        with pytest.raises(ValueError):
            parse_age_band(bad)


def test_scheme_validation_lists_every_problem_at_once() -> None:
    bands = tuple(parse_age_band(t) for t in ("1-4", "6-9", "8-20", "21+", "30-40"))
    with pytest.raises(ValueError) as info:
        AgeBandScheme("bad", "Dårlig", "Bad", bands)
    message = str(info.value)
    assert "'bad'" in message
    assert "does not start at 0" in message
    assert "gap between '1-4' and '6-9'" in message
    assert "'6-9' and '8-20' overlap" in message
    assert "'21+' is open-ended but is not the last band" in message
    assert "last band '30-40' is not open-ended" in message


def test_scheme_with_no_bands_is_rejected() -> None:
    with pytest.raises(ValueError, match="no bands"):
        AgeBandScheme("empty", "Tom", "Empty", ())


def test_load_own_schemes_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bands.yaml"
    path.write_text(
        "schemes:\n  - id: to\n    label_da: To grupper\n    label_en: Two groups\n    bands: [0-49, 50+]\n",
        encoding="utf-8",
    )
    schemes = load_age_band_schemes(path)
    assert list(schemes) == ["to"]
    assert schemes["to"].band_of(50).label == "50+"


def test_loading_a_bad_file_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bands.yaml"
    path.write_text(
        "schemes:\n"
        "  - id: a\n"
        "    label_da: A\n"
        "    label_en: A\n"
        "    bands: [0-9, 12+]\n"
        "  - id: b\n"
        "    label_en: B\n"
        "    bands: [0-9, ten+]\n"
        "  - id: a\n"
        "    label_da: A\n"
        "    label_en: A\n"
        "    bands: [0+]\n"
        "  - just text\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError) as info:
        load_age_band_schemes(path)
    message = str(info.value)
    assert "gap between '0-9' and '12+'" in message
    assert "scheme #2: 'label_da' is missing" in message
    assert "'ten+'" in message
    assert "scheme #4 is not a mapping" in message


def test_loading_a_file_without_schemes_fails(tmp_path: Path) -> None:
    path = tmp_path / "bands.yaml"
    path.write_text("- 0-4\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'schemes'"):
        load_age_band_schemes(path)


def test_duplicate_scheme_ids_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bands.yaml"
    entry = "  - {id: x, label_da: X, label_en: X, bands: [0+]}\n"
    path.write_text("schemes:\n" + entry + entry, encoding="utf-8")
    with pytest.raises(ValueError, match="declared twice"):
        load_age_band_schemes(path)


# --- year ranges ------------------------------------------------------------------------------


def test_parse_a_range_of_years() -> None:
    years = parse_years("2022-2024")
    assert years == YearRange(2022, 2024)
    assert years.start == date(2022, 1, 1)
    assert years.end == date(2024, 12, 31)
    assert list(years.years) == [2022, 2023, 2024]
    assert str(years) == "2022-2024"


@pytest.mark.parametrize("text", ["2023", " 2023 ", "2023-2023", "2023 - 2023"])
def test_parse_a_single_year(text: str) -> None:
    years = parse_years(text)
    assert (years.first, years.last) == (2023, 2023)
    assert str(years) == "2023"
    assert list(years.years) == [2023]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-2022", "range is reversed: 2024 comes after 2022"),
        ("1989", "year 1989 is outside 1990-2100"),
        ("2101", "year 2101 is outside 1990-2100"),
        ("1980-2200", "year 1980 is outside 1990-2100; year 2200 is outside 1990-2100"),
        ("", "is not a year like 2023"),
        ("abc", "is not a year like 2023"),
        ("2022-", "is not a year like 2023"),
        ("22-24", "is not a year like 2023"),
        ("20223", "is not a year like 2023"),
        ("2022-2023-2024", "is not a year like 2023"),
    ],
)
def test_parse_years_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_years(text)
    assert message in str(info.value)


def test_year_range_validates_on_construction() -> None:
    with pytest.raises(ValueError, match="reversed"):
        YearRange(2024, 2023)
    assert YearRange(1990, 2100).years == range(1990, 2101)


# --- ISO weeks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "code"),
    [
        (date(2021, 1, 1), 202053),  # Friday in the last week of ISO year 2020
        (date(2020, 12, 31), 202053),
        (date(2021, 1, 4), 202101),
        (date(2024, 12, 30), 202501),  # Monday of week 1 of ISO year 2025
        (date(2023, 6, 15), 202324),
    ],
)
def test_iso_week_code(day: date, code: int) -> None:
    assert iso_week_code(day) == code


def test_week_monday() -> None:
    assert week_monday(202053) == date(2020, 12, 28)
    assert week_monday(202501) == date(2024, 12, 30)
    assert week_monday(202324) == date(2023, 6, 12)


def test_week_53_only_in_years_that_have_it() -> None:
    assert weeks_in_iso_year(2020) == 53
    assert weeks_in_iso_year(2021) == 52
    assert weeks_in_iso_year(2015) == 53
    assert is_week_code(202053)
    assert not is_week_code(202153)
    with pytest.raises(ValueError, match="ISO year 2021 has weeks 1-52"):
        week_monday(202153)


def test_week_codes_need_a_four_digit_year() -> None:
    with pytest.raises(ValueError, match="YYYYWW"):
        iso_week_code(date(999, 6, 1))
    assert week_monday(100001) == date(999, 12, 30)


@pytest.mark.parametrize("code", [202000, 202054, 2020, -202001, 1000000, 99952])
def test_invalid_week_codes(code: int) -> None:
    assert not is_week_code(code)
    with pytest.raises(ValueError):
        check_week_code(code)

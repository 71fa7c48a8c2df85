"""Code helpers: kommunekode, regions, SKS/ICD-10 hierarchy, ATC, SSR, DREAM and LPR3 codes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from koes.domain.codelists import DREAM_YDELSE, HOVEDSPECIALE, KONTAKTTYPE, SSR_SPECIALE
from koes.domain.codes import (
    REGION_CODES,
    IcdHierarchy,
    atc_level,
    atc_prefix,
    benefit_type,
    dst_region_code,
    icd10_from_sks,
    is_acute,
    is_atc,
    is_physical,
    is_region_code,
    is_sks_diagnosis,
    kommunekode_int,
    kommunekode_str,
    region_code_from_dst,
    sector_of_specialty,
    sks_category,
    sks_from_icd10,
    split_speciale,
    ssr_group,
)

REFDATA = Path(__file__).resolve().parents[3] / "src" / "koes" / "refdata" / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (REFDATA / f"icd10_{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def icd() -> IcdHierarchy:
    return IcdHierarchy(_rows("chapters"), _rows("blocks"), _rows("categories"))


# --- kommunekode and regions ------------------------------------------------------------------


@pytest.mark.parametrize(("code", "text"), [(101, "0101"), (851, "0851"), (1084, "1084"), (1, "0001")])
def test_kommunekode_str(code: int, text: str) -> None:
    assert kommunekode_str(code) == text


@pytest.mark.parametrize("code", [0, -101, 10000])
def test_kommunekode_str_rejects_out_of_range(code: int) -> None:
    with pytest.raises(ValueError):
        kommunekode_str(code)


@pytest.mark.parametrize(("text", "code"), [("0101", 101), ("101", 101), (" 101 ", 101), ("851", 851)])
def test_kommunekode_int(text: str, code: int) -> None:
    assert kommunekode_int(text) == code


@pytest.mark.parametrize("text", ["", " ", "abc", "01011", "10 1", "-101", "0000", "1.0", "١٠١"])
def test_kommunekode_int_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="kommunekode"):
        kommunekode_int(text)


def test_kommunekode_error_does_not_echo_a_cpr_number() -> None:
    with pytest.raises(ValueError) as info:
        kommunekode_int("070761-4285")
    assert "070761" not in str(info.value)


def test_region_codes() -> None:
    assert REGION_CODES == (1081, 1082, 1083, 1084, 1085)
    assert is_region_code(1084)
    assert not is_region_code(101)
    assert not is_region_code(1086)
    assert dst_region_code(1081) == 81
    assert region_code_from_dst(85) == 1085
    with pytest.raises(ValueError):
        dst_region_code(84)
    with pytest.raises(ValueError):
        region_code_from_dst(1084)


# --- SKS and ICD-10 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "category"), [("DI219", "DI21"), ("DI21", "DI21"), ("DZ763A", "DZ76")])
def test_sks_category(code: str, category: str) -> None:
    assert sks_category(code) == category


@pytest.mark.parametrize("code", ["I219", "DI2", "di219", "D1219", "DI219ABCD", "", "DI21.9"])
def test_sks_category_rejects_non_sks_codes(code: str) -> None:
    assert not is_sks_diagnosis(code)
    with pytest.raises(ValueError):
        sks_category(code)


@pytest.mark.parametrize(
    ("sks", "icd10"), [("DI219", "I21.9"), ("DI21", "I21"), ("DF001", "F00.1"), ("DZ763A", "Z76.3A")]
)
def test_sks_icd10_conversion_both_ways(sks: str, icd10: str) -> None:
    assert icd10_from_sks(sks) == icd10
    assert sks_from_icd10(icd10) == sks


def test_sks_from_icd10_accepts_code_without_dot_and_rejects_garbage() -> None:
    assert sks_from_icd10("I219") == "DI219"
    for bad in ("DI219", "I21.", "i21.9", "I2", ""):
        with pytest.raises(ValueError):
            sks_from_icd10(bad)
    with pytest.raises(ValueError):
        icd10_from_sks("I21.9")


def test_icd_hierarchy_acute_myocardial_infarction(icd: IcdHierarchy) -> None:
    chapter = icd.chapter_of("DI219")
    block = icd.block_of("DI219")
    category = icd.category_of("DI219")
    assert chapter is not None and block is not None and category is not None
    assert (chapter.number, chapter.roman) == (9, "IX")
    assert chapter.title == "Diseases of the circulatory system"
    assert block.code == "I20-I25"
    assert block.title == "Ischaemic heart diseases"
    assert category.code == "I21"
    assert icd.title("DI21") == "Acute myocardial infarction"


def test_icd_hierarchy_gives_innermost_nested_block(icd: IcdHierarchy) -> None:
    block = icd.block_of("DC509")
    assert block is not None
    assert block.code == "C50-C50"
    assert block.parent == "C00-C75"
    outer = icd.block_of("DC97")
    assert outer is not None
    assert outer.code == "C97-C97"


def test_icd_hierarchy_chapter_boundaries(icd: IcdHierarchy) -> None:
    neoplasm = icd.chapter_of("DD48")
    blood = icd.chapter_of("DD50")
    special = icd.chapter_of("DU071")
    assert neoplasm is not None and blood is not None and special is not None
    assert (neoplasm.number, blood.number, special.number) == (2, 3, 22)
    assert icd.chapter_of("DD49") is None  # between chapters II and III


def test_icd_hierarchy_unknown_codes_give_none(icd: IcdHierarchy) -> None:
    assert icd.category_of("DU99") is None
    assert icd.block_of("DU99") is None
    assert icd.chapter_of("DU99") is None
    assert icd.title("DU99") is None
    assert icd.title("DI219") is None  # a subcode is not a category
    with pytest.raises(ValueError):
        icd.chapter_of("I21")


def test_icd_hierarchy_agrees_with_every_category_row(icd: IcdHierarchy) -> None:
    rows = _rows("categories")
    assert len(rows) == 2050
    for row in rows:
        code = row["sks_code"] + "9"
        chapter, block, category = icd.chapter_of(code), icd.block_of(code), icd.category_of(code)
        assert chapter is not None and block is not None and category is not None, row
        assert chapter.number == int(row["chapter_no"]), row
        assert block.code == row["block"], row
        assert category.code == row["code"], row
        assert icd.title(row["sks_code"]) == row["title_en"]


def test_icd_hierarchy_reports_missing_columns() -> None:
    with pytest.raises(ValueError, match="chapters row 1: missing column 'title_en'"):
        IcdHierarchy([{"chapter_no": "1", "chapter": "I", "first_code": "A00", "last_code": "B99"}], [], [])


def test_icd_hierarchy_rejects_broken_block_parents() -> None:
    block = {
        "block": "A00-A09",
        "first_code": "A00",
        "last_code": "A09",
        "chapter_no": "1",
        "parent_block": "Z00-Z99",
        "title_en": "x",
    }
    with pytest.raises(ValueError, match="parent chain"):
        IcdHierarchy([], [block], [])


# --- ATC --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level"), [("A", 1), ("A10", 2), ("A10B", 3), ("A10BA", 4), ("A10BA02", 5), ("N02BE01", 5)]
)
def test_atc_level(code: str, level: int) -> None:
    assert is_atc(code)
    assert atc_level(code) == level


@pytest.mark.parametrize("code", ["", "E", "a10", "A1", "A10B1", "A10BA0", "A10BA023", "AA0", "10BA02"])
def test_atc_shape_is_validated(code: str) -> None:
    assert not is_atc(code)
    with pytest.raises(ValueError):
        atc_level(code)


def test_atc_prefix() -> None:
    assert [atc_prefix("A10BA02", level) for level in range(1, 6)] == [
        "A",
        "A10",
        "A10B",
        "A10BA",
        "A10BA02",
    ]
    assert atc_prefix("C09", 1) == "C"
    for level in (0, 3, 6):
        with pytest.raises(ValueError):
            atc_prefix("C09", level)


# --- SSR, DREAM, LPR3 -------------------------------------------------------------------------


def test_split_speciale() -> None:
    assert split_speciale("800101") == ("80", "0101")
    assert split_speciale("510000") == ("51", "0000")
    for bad in ("80010", "8001011", "80O101", " 800101"):
        with pytest.raises(ValueError):
            split_speciale(bad)


def test_ssr_group_follows_the_code_list() -> None:
    assert ssr_group("80") == "almen_praksis"
    assert ssr_group("19") == "speciallaege"
    assert ssr_group("51") == "oevrige"
    assert {ssr_group(c.code) for c in SSR_SPECIALE} == {"almen_praksis", "speciallaege", "oevrige"}
    with pytest.raises(KeyError):
        ssr_group("99")


def test_benefit_type() -> None:
    assert benefit_type("890") == "sygedagpenge"
    assert benefit_type("781") == "foertidspension"
    assert all(benefit_type(c.code) == c.attrs["benefit_type"] for c in DREAM_YDELSE)
    with pytest.raises(KeyError):
        benefit_type("000")


def test_is_acute() -> None:
    assert is_acute("ATA1")
    assert not is_acute("ATA3")
    with pytest.raises(KeyError):
        is_acute("ATA2")


def test_is_physical() -> None:
    assert is_physical("ALCA00")
    assert is_physical("ALCA10")
    assert not is_physical("ALCA03")
    assert sum(is_physical(c.code) for c in KONTAKTTYPE) == 2
    with pytest.raises(KeyError):
        is_physical("ALCA99")


def test_sector_of_specialty() -> None:
    assert sector_of_specialty("kardiologi") == "somatik"
    assert sector_of_specialty("psykiatri") == "psykiatri"
    assert sector_of_specialty("boerne_ungdomspsykiatri") == "psykiatri"
    assert [c.code for c in HOVEDSPECIALE if sector_of_specialty(c.code) == "psykiatri"] == [
        "psykiatri",
        "boerne_ungdomspsykiatri",
    ]
    with pytest.raises(KeyError):
        sector_of_specialty("astrologi")

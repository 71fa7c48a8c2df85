"""Cross-file consistency of the shipped reference data."""

from __future__ import annotations

from collections import Counter

import pytest

from koes.refdata import RefData, load_refdata


@pytest.fixture(scope="module")
def ref() -> RefData:
    return load_refdata()


def test_98_municipalities_in_csv_and_geojson_agree(ref: RefData) -> None:
    features = ref.geojson("municipalities")["features"]
    assert len(ref.municipalities) == 98
    assert len(features) == 98
    by_code = {m.code: m for m in ref.municipalities}
    for feature in features:
        props = feature["properties"]
        muni = by_code[props["code"]]
        assert (props["name"], props["region_code"], props["kommunekode"]) == (
            muni.name,
            muni.region_code,
            muni.kommunekode,
        )


def test_christianso_is_not_a_municipality(ref: RefData) -> None:
    assert 411 not in {m.code for m in ref.municipalities}


def test_five_regions_with_the_published_municipality_counts(ref: RefData) -> None:
    counts = Counter(m.region_code for m in ref.municipalities)
    assert {r.code: r.n_municipalities for r in ref.regions} == dict(counts)
    assert dict(counts) == {1084: 29, 1085: 17, 1083: 22, 1082: 19, 1081: 11}
    assert len(ref.geojson("regions")["features"]) == 5


def test_kommunekode_is_the_zero_padded_code(ref: RefData) -> None:
    assert all(m.kommunekode == f"{m.code:04d}" for m in ref.municipalities)


def test_population_has_every_municipality_every_year(ref: RefData) -> None:
    codes = {m.code for m in ref.municipalities}
    years = {p.year for p in ref.population}
    assert years == {2022, 2023, 2024}
    for year in years:
        assert set(ref.population_in(year)) == codes
    assert sum(ref.population_in(2024).values()) == 5_961_158


def test_national_structure_sums_to_the_published_total(ref: RefData) -> None:
    assert sum(p.population for p in ref.national_structure(2024)) == 5_961_249
    groups = ref.national_structure(2024)
    assert len(groups) == 36
    assert sum(1 for g in groups if g.age_to is None) == 2  # 85+ for each sex


def test_hospitals_lie_in_known_municipalities_of_their_region(ref: RefData) -> None:
    region_of = {m.code: m.region_code for m in ref.municipalities}
    for h in ref.hospitals:
        assert region_of[h.municipality_code] == h.region_code, h.hospital_id
    assert len(ref.hospital_ids) == len(ref.hospitals) == 44


def test_icd10_hierarchy_is_closed(ref: RefData) -> None:
    blocks = {b["block"] for b in ref.icd10_blocks}
    chapters = {c["chapter_no"] for c in ref.icd10_chapters}
    assert len(chapters) == 22
    for cat in ref.icd10_categories:
        assert cat["block"] in blocks
        assert cat["chapter_no"] in chapters
        assert cat["sks_code"] == "D" + cat["code"]


def test_atc_level2_groups_have_level1_parents(ref: RefData) -> None:
    level1 = {g.code for g in ref.atc_groups if g.level == 1}
    assert len(level1) == 14
    assert all(g.parent in level1 for g in ref.atc_groups if g.level == 2)
    assert "C10" in ref.atc_level2


def test_reference_code_lists_used_by_the_schemas_resolve(ref: RefData) -> None:
    assert "0101" in ref.code_list("kommunekode")
    assert "DI21" in ref.code_list("sks_diagnose")
    assert "A10" in ref.code_list("atc")
    assert "rh-blegdamsvej" in ref.code_list("hospital")
    with pytest.raises(KeyError, match="no reference code list named 'nope'"):
        ref.code_list("nope")

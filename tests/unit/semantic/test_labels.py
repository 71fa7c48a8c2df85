"""Every label of the catalog and the Standard reports, in Danish and English, reads whole (issue 18,
item 1: "Admissions per 1,000 citizens" showed as "Admissions per 1" because an unquoted comma in a
YAML flow mapping ends the value)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from koes.refdata import load_refdata
from koes.reports.loader import default_reports, load_reports
from koes.semantic.loader import bilingual, default_catalog
from koes.semantic.members import members
from koes.semantic.model import Label, TimeUnit
from support import english_leaks

# "per 1" / "pr. 1" not followed by the rest of its number: the cut the issue saw.
CUT = {"en": re.compile(r"\bper 1(?![,0-9])"), "da": re.compile(r"\bpr\. 1(?![.0-9])")}


def catalog_labels() -> Iterator[tuple[str, Label]]:
    catalog = default_catalog()
    for m in catalog.measures.values():
        yield f"measure {m.id}", m.label
        if m.over_time:
            for unit in TimeUnit:
                yield f"measure {m.id} per {unit.value}", m.in_unit(unit)
    for d in catalog.dimensions.values():
        yield f"dimension {d.id}", d.label
        if d.members.kind == "inline":
            for member in members(d, (2023,)):
                yield f"dimension {d.id} member {member.value}", member.label
    for p in catalog.perspectives.values():
        yield f"perspective {p.id}", p.label
    for s in catalog.segments.values():
        yield f"segment {s.id}", s.label


def report_labels() -> Iterator[tuple[str, Label]]:
    for r in default_reports().reports.values():
        yield f"report {r.id} title", r.title
        yield f"report {r.id} description", r.description
        if r.choice_label is not None:
            yield f"report {r.id} choice", r.choice_label
        for v in r.variants:
            yield f"report {r.id} variant {v.id}", v.label


ALL = [*catalog_labels(), *report_labels()]


@pytest.mark.parametrize("lang", ["da", "en"])
def test_no_label_is_cut_at_a_thousands_separator(lang: str) -> None:
    cut = [f"{where}: {label.get(lang)!r}" for where, label in ALL if CUT[lang].search(label.get(lang))]
    assert cut == []
    assert len(ALL) > 200  # the walk reached the catalog and the reports


def test_rates_per_thousand_say_the_whole_thousand_in_both_languages() -> None:
    catalog = default_catalog()
    rates = [m for m in catalog.measures.values() if m.per == 1000]
    assert rates, "the catalog has rates per 1,000"
    for m in rates:
        assert "1,000" in m.label.en and "1.000" in m.label.da, m.id


@pytest.mark.parametrize("lang", ["da", "en"])
def test_measure_labels_are_distinct_within_each_perspective(lang: str) -> None:
    """The symptom in the measure list: the crude and the standardised rate both read "Admissions per 1"."""
    catalog = default_catalog()
    for p in catalog.perspectives:
        labels = [m.label.get(lang) for m in catalog.measures_of(p)]
        assert len(labels) == len(set(labels)), (p, sorted(x for x in labels if labels.count(x) > 1))


def test_an_unquoted_comma_in_a_label_is_refused_with_what_to_do() -> None:
    import yaml

    cut = yaml.safe_load("{da: Indlæggelser pr. 1.000 borgere, en: Admissions per 1,000 citizens}")
    assert cut["en"] == "Admissions per 1"  # what YAML does with it
    with pytest.raises(ValueError, match="quote the text"):
        bilingual(cut, "label")
    assert bilingual({"da": "a", "en": "b"}, "label") == Label("a", "b")


def test_the_reports_file_names_a_cut_label(tmp_path: Path) -> None:
    text = default_reports_text().replace(
        "title: {da: Nøgletal, en: Key figures}", "title: {da: Nøgletal, en: Key figures, in total}", 1
    )
    assert "in total" in text
    path = tmp_path / "reports.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match="quote the text"):
        load_reports(path, default_catalog())


def default_reports_text() -> str:
    from koes.reports.loader import default_reports_file

    return default_reports_file().read_text(encoding="utf-8")


@pytest.mark.parametrize("member_list", ["icd10_chapters", "atc1", "atc2"])
def test_chapters_and_atc_groups_have_danish_names(member_list: str) -> None:
    """Issue 18 item 2: Danish mode showed "Certain infectious and parasitic diseases"; the ATC
    therapeutic groups (level 2) showed English names too."""
    catalog = default_catalog()
    dims = [d for d in catalog.dimensions.values() if d.members.name == member_list]
    assert dims
    for member in members(dims[0], (2023,)):
        assert member.label.da != member.label.en, member.value
    labels = {member.value: member.label for member in members(dims[0], (2023,))}
    if member_list == "icd10_chapters":
        assert labels[1].da == "Kapitel I: Visse infektiøse og parasitære sygdomme"
        assert len(labels) == 22
    elif member_list == "atc1":
        assert labels["N"].da == "N Nervesystemet" and len(labels) == 14
    else:
        assert labels["C10"].da == "C10 Lipidmodificerende midler" and len(labels) == 94


@pytest.mark.parametrize("dimension", ["diagnosekapitel", "diagnoseblok"])
def test_danish_diagnosis_members_show_none_of_the_known_english_leaks(dimension: str) -> None:
    """Issue 18 defect 2: Danish mode showed the ICD-10 blocks' English titles ("A00-A09 Intestinal
    infectious diseases"). Checked against the browser tour's list of known leaks, which catches
    the English labels of the same members, so the Danish check is not empty."""
    listed = members(default_catalog().dimensions[dimension], (2023,))
    found = {m.value: english_leaks(m.label.da) for m in listed}
    assert {value: leaks for value, leaks in found.items() if leaks} == {}
    assert english_leaks(" ".join(m.label.en for m in listed))
    if dimension == "diagnoseblok":
        labels = {m.value: m.label for m in listed}
        assert len(labels) == 274
        assert labels["A00-A09"].da == "A00-A09 Infektiøse tarmsygdomme"
        assert labels["A00-A09"].en == "A00-A09 Intestinal infectious diseases"
        assert labels["J09-J18"].da == "J09-J18 Influenza og lungebetændelse"


def test_danish_diagnosis_categories_name_their_block_in_danish_not_the_who_title() -> None:
    """No Danish title per ICD-10 category is shipped: a Danish page names the category's code and
    its block's Danish title instead of WHO's English title (which stays in English mode)."""
    listed = {m.value: m.label for m in members(default_catalog().dimensions["diagnose"], (2023,))}
    assert listed["DI21"].da == "I21 (i I20-I25 Iskæmiske hjertesygdomme)"
    assert listed["DI21"].en == "I21 Acute myocardial infarction"
    leaking = {value: label.da for value, label in listed.items() if english_leaks(label.da)}
    assert leaking == {}
    assert all(label.da != label.en for label in listed.values())


def test_danish_chapter_titles_name_what_the_who_titles_name() -> None:
    """The Danish chapter titles were written by hand: each keeps the parts of WHO's English title
    that narrow it ("Certain", "deformations", "not elsewhere classified"), checked against the
    shipped ICD-10 chapters (refdata icd10_chapters.csv)."""
    ref = load_refdata()
    assert set(ref.icd10_chapter_titles_da) == {int(c["chapter_no"]) for c in ref.icd10_chapters}
    narrowing = {"Certain": "Visse", "deformations": "deformiteter", "not elsewhere classified": "ikke klassificeret"}
    for chapter in ref.icd10_chapters:
        danish = ref.icd10_chapter_titles_da[int(chapter["chapter_no"])]
        for english, word in narrowing.items():
            if english in chapter["title_en"]:
                assert word.lower() in danish.lower(), (chapter["chapter"], danish)


def test_every_atc_group_has_a_danish_name_and_no_name_is_stray() -> None:
    ref = load_refdata()
    assert set(ref.atc_names_da) == {g.code for g in ref.atc_groups}


def test_a_yes_or_no_read_as_a_boolean_is_refused() -> None:
    """Issue 18 item 2: English mode showed "False" in the saved analyses' Shared column ({en: No})."""
    import yaml

    from koes.web.i18n import catalog

    read = yaml.safe_load("{da: Nej, en: No}")
    assert read["en"] is False
    with pytest.raises(ValueError, match="quote"):
        bilingual(read, "label")
    texts = catalog()
    assert texts["saved.no"]["en"] == "No" and texts["saved.yes"]["en"] == "Yes"
    assert all(isinstance(text, str) for v in texts.values() for text in v.values())

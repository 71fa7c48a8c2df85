"""The Danish titles of the ICD-10 blocks (issue 18, defect 2: Danish mode showed English block
titles) and the check that every shipped Danish list titles its English list exactly."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from koes.refdata import RefData, data_dir, load_refdata
from koes.refdata.danish import DANISH_LISTS, ICD10_BLOCKS_DA, DanishList, danish_title_problems

# Blocks whose English title is the Latin name Danish clinicians use too, so it stays as it is.
LATIN = {"E10-E14": "Diabetes mellitus"}
# Words of WHO's titles that narrow what a block holds, and the Danish that must say the same.
NARROWING = {
    "certain": ("visse",),
    "other": ("andre", "anden", "andet"),
    "unspecified": ("uspecificere",),
    "not elsewhere classified": ("ikke klassificeret andetsteds",),
    "without": ("uden",),
}


@pytest.fixture(scope="module")
def ref() -> RefData:
    return load_refdata()


def test_every_block_has_a_danish_title_of_its_own(ref: RefData) -> None:
    assert set(ref.icd10_block_titles_da) == {b["block"] for b in ref.icd10_blocks}
    same = {}
    for block in ref.icd10_blocks:
        danish = ref.icd10_block_titles_da[block["block"]]
        assert danish.strip() == danish and danish, block["block"]
        if danish == block["title_en"]:
            same[block["block"]] = danish
    assert same == LATIN
    assert ref.icd10_block_titles_da["I20-I25"] == "Iskæmiske hjertesygdomme"
    assert ref.icd10_block_titles_da["H65-H75"] == "Sygdomme i mellemøre og processus mastoideus"


def test_danish_block_titles_keep_what_narrows_the_who_titles(ref: RefData) -> None:
    """Hand-written like the chapter titles: "Other", "Certain", "unspecified" and "not elsewhere
    classified" change what a block holds, so each must be in the Danish title too."""
    lost = []
    for block in ref.icd10_blocks:
        danish = ref.icd10_block_titles_da[block["block"]].lower()
        for english, words in NARROWING.items():
            if re.search(rf"\b{english}\b", block["title_en"].lower()) and not any(w in danish for w in words):
                lost.append((block["block"], english, danish))
    assert lost == []


@pytest.mark.parametrize("spec", DANISH_LISTS, ids=lambda s: s.danish)
def test_shipped_danish_lists_title_their_english_lists_exactly(spec: DanishList) -> None:
    assert danish_title_problems(data_dir(), spec) == []


def _broken_copy(folder: Path) -> Path:
    """The shipped reference data with A15-A19 left out, a mistyped block, an empty title and a
    block titled twice in icd10_blocks_da.csv."""
    shutil.copytree(data_dir(), folder)
    path = folder / ICD10_BLOCKS_DA.danish
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[2].startswith("A15-A19,") and lines[3].startswith("A20-A28,")
    lines[2] = "A15-A91,Tuberkulose"  # line 3
    lines[3] = "A20-A28,"  # line 4
    lines.append(lines[1])  # A00-A09 again, line 276
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_the_check_names_every_missing_unknown_empty_and_repeated_block_with_where(tmp_path: Path) -> None:
    folder = _broken_copy(tmp_path / "data")
    assert danish_title_problems(folder, ICD10_BLOCKS_DA) == [
        "icd10_blocks_da.csv line 3: block 'A15-A91' is not in icd10_blocks.csv",
        "icd10_blocks_da.csv line 4: block 'A20-A28' has an empty title_da",
        "icd10_blocks_da.csv line 276: block 'A00-A09' has a Danish title on an earlier line",
        "icd10_blocks.csv line 3: block 'A15-A19' has no title in icd10_blocks_da.csv",
    ]
    with pytest.raises(ValueError, match=r"(?s)line 3: block 'A15-A91'.*'A15-A19' has no title"):
        load_refdata(folder)


def test_without_the_danish_file_blocks_keep_their_english_titles(tmp_path: Path) -> None:
    """A copy of shared/refdata has the English lists only: no problem, and no Danish titles."""
    folder = tmp_path / "data"
    shutil.copytree(data_dir(), folder)
    (folder / ICD10_BLOCKS_DA.danish).unlink()
    assert danish_title_problems(folder, ICD10_BLOCKS_DA) == []
    assert load_refdata(folder).icd10_block_titles_da == {}

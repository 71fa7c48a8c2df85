"""The catalog: the shipped one is whole and fits a release; a broken one reports every problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from koes.semantic.docs import catalog_markdown
from koes.semantic.expressions import ExpressionError, parse_expression
from koes.semantic.loader import (
    CatalogError,
    catalog_problems,
    default_catalog,
    default_catalog_dir,
    load_catalog,
    release_problems,
)
from koes.semantic.members import label_of, members
from koes.semantic.model import CITIZENS
from koes.services.warehouse import LoadResult

PERSPECTIVES = {"somatik", "psykiatri", "sygesikring", "medicin", "pleje", "beskaeftigelse", "befolkning"}


def test_shipped_catalog_has_every_perspective_and_labels_in_both_languages() -> None:
    catalog = default_catalog()
    assert set(catalog.perspectives) == PERSPECTIVES
    for perspective in PERSPECTIVES:
        assert catalog.measures_of(perspective), perspective
    for group in (catalog.dimensions, catalog.measures, catalog.segments):
        for element in group.values():
            assert element.label.da and element.label.en and element.description, element.id


def test_shipped_catalog_fits_the_release(small_load: LoadResult) -> None:
    con = duckdb.connect(str(small_load.release.serving_file), read_only=True)
    columns: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
        columns.setdefault(table, set()).add(column)
    con.close()
    assert release_problems(default_catalog(), {t: frozenset(c) for t, c in columns.items()}) == []


def test_release_check_names_missing_tables_and_columns() -> None:
    problems = release_problems(default_catalog(), {"stays": frozenset({"year"})})
    text = "\n".join(map(str, problems))
    assert "sources.yaml: source 'contacts': table 'contacts' is not in the release" in text
    assert "measures.yaml: measure 'indlaeggelser': table 'stays' has no column(s) ['admission']" in text


def _broken_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), folder)
    measures = yaml.safe_load((folder / "measures.yaml").read_text(encoding="utf-8"))
    measures["measures"][0]["unit"] = "furlongs"
    measures["measures"][1]["inputs"] = {"no_such_source": {"count": True}}
    measures["measures"][2]["inputs"]["stays"] = {"count": "admission; DROP TABLE stays"}
    measures["measures"].append(dict(measures["measures"][3]))  # defined twice
    (folder / "measures.yaml").write_text(yaml.safe_dump(measures, allow_unicode=True), encoding="utf-8")
    dimensions = yaml.safe_load((folder / "dimensions.yaml").read_text(encoding="utf-8"))
    del dimensions["dimensions"][0]["label"]["en"]
    (folder / "dimensions.yaml").write_text(yaml.safe_dump(dimensions, allow_unicode=True), encoding="utf-8")
    (folder / "segments.yaml").write_text("segments: [\n", encoding="utf-8")
    return folder


def test_broken_catalog_reports_every_problem_with_file_and_element(tmp_path: Path) -> None:
    folder = _broken_copy(tmp_path)
    problems = [str(p) for p in catalog_problems(folder)]
    expected = [
        "measures.yaml: measure 'kontakter': 'furlongs' is not a valid Unit",
        "measures.yaml: measure 'akutte_kontakter': unknown source 'no_such_source'",
        "measures.yaml: measure 'indlaeggelser': input 'stays': 'admission; DROP TABLE stays' uses",
        "measures.yaml: measure 'akutte_indlaeggelser': defined twice",
        "dimensions.yaml: dimension 'aar': label needs both `da` and `en`",
        "segments.yaml: file: is not valid YAML",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    with pytest.raises(CatalogError, match="problem"):
        load_catalog(folder)


@pytest.mark.parametrize(
    "text",
    ["(SELECT 1)", "upper(sector)", "read_parquet('x')", "admission OR EXISTS (SELECT 1)", ""],
)
def test_expressions_are_limited_to_columns_literals_and_logic(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_members_and_labels_come_from_code_lists_and_reference_data() -> None:
    catalog = default_catalog()
    kommune = catalog.dimensions["kommune"]
    assert len(members(kommune)) == 98
    assert label_of(kommune, 101) == "København"
    assert label_of(catalog.dimensions["koen"], 2, "en") == "Female"
    assert label_of(catalog.dimensions["kvartal"], 20233, "da") == "2023 K3"
    assert label_of(catalog.dimensions["prioritet"], True) == "Akut"
    assert [m.value for m in members(catalog.dimensions["aldersgruppe"])][:3] == ["0-2", "3-17", "18-24"]
    assert label_of(kommune, None, "en") == "Not recorded"


def test_catalog_reference_is_current() -> None:
    """docs/reference/catalog.md is generated; regenerate with `python -m koes.semantic.docs`."""
    path = Path(__file__).resolve().parents[3] / "docs" / "reference" / "catalog.md"
    assert path.read_text(encoding="utf-8") == catalog_markdown(default_catalog())


def test_a_catalog_without_its_special_ids_names_each_one(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(default_catalog_dir(), folder)
    for name, key, gone in (("measures.yaml", "measures", CITIZENS), ("dimensions.yaml", "dimensions", "koen")):
        data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        data[key] = [item for item in data[key] if item["id"] != gone]
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = [str(p) for p in catalog_problems(folder)]
    assert "measures.yaml: measure 'borgere': missing: rates need the citizens measure" in problems
    assert "dimensions.yaml: dimension 'koen': missing: standardised rates are stratified by it" in problems

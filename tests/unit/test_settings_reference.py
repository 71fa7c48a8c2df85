"""docs/configuration.md describes every setting and is what the generator renders from Settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from koes.settings import Settings
from koes.settings_reference import descriptions, field_comments, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_described() -> None:
    described = descriptions()
    undocumented = [name for name in (f.name for f in dataclasses.fields(Settings)) if len(described[name]) < 10]
    assert undocumented == [], f"describe these in settings.py (a comment) or settings_reference.EXTRA: {undocumented}"


def test_the_page_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m koes.settings_reference > docs/configuration.md"
    for field in dataclasses.fields(Settings):
        assert f"`KOES_{field.name.upper()}`" in DOC.read_text(encoding="utf-8")


def test_a_field_without_a_comment_has_no_description() -> None:
    source = (
        "class S:\n"
        "    # A group of two.\n"
        "    first: int = 1  # the first\n"
        "    second: int = 2\n"
        "    third: str = 'x'  # the third\n"
    )
    assert field_comments(source) == {"first": "A group of two. the first", "second": "", "third": "the third"}

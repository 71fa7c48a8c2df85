"""The messages of a cohort upload (``messages.yaml``), in Danish and English."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("da", "en")


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    text = resources.files("koes.cohorts").joinpath("messages.yaml").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = yaml.safe_load(text)
    return data


def message(code: str, language: str = "da", **params: Any) -> str:
    """The message for ``code`` with ``params`` filled in; an unknown code is a bug, so it raises."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    return catalogue()[code][language].format(**params)

"""The web pages' texts: ``messages.yaml`` (Danish default, English), and the language of a request."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import yaml

from koes.query.request import FieldProblem

LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"
LANG_COOKIE = "koes_lang"


@cache
def catalog() -> Mapping[str, Mapping[str, str]]:
    """Key → language → text; every key has every language."""
    raw: Any = yaml.safe_load(resources.files("koes.web").joinpath("messages.yaml").read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("messages.yaml must map keys to texts")
    out: dict[str, dict[str, str]] = {}
    for key, texts in raw.items():
        if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
            raise ValueError(f"messages.yaml: {key!r} needs exactly the languages {', '.join(LANGUAGES)}")
        # YAML reads an unquoted Yes/No as a boolean (English "False" in a table) and a comma in an
        # unquoted flow mapping ends the text: a text must be a string as written (issue 18).
        if not all(isinstance(text, str) for text in texts.values()):
            raise ValueError(f"messages.yaml: {key!r} has a text that is not a string; quote it")
        out[str(key)] = {str(lang): str(text) for lang, text in texts.items()}
    return out


def has_message(key: str) -> bool:
    return key in catalog()


def language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = language(lang)

    def __call__(self, key: str, **values: object) -> str:
        text = catalog()[key][self.lang]
        return text.format(**values) if values else text


def problem_message(problem: FieldProblem, t: Translator) -> str:
    """A service problem in the page's language when it has a code; else the service's own words."""
    key = f"problem.{problem.code}"
    if problem.code and has_message(key):
        return t(key, **dict(problem.params))
    return str(problem)

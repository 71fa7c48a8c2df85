"""The attacked releases: the session's small extracts (4,000 persons, 2022–2023), loaded once
more with a fixed pseudonymisation key each, so their record keys, and with them every published
value and every figure the attack measures, are the same in every run.

Two keys, two draws of the noise: in the first the attack pins nothing; in the second (a key a
random load once chose) combining the tables pins five small counts of admissions exactly (see
``test_perturbation_attack``)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from koes.services.analysis import AnalysisService
from koes.services.warehouse import load_extracts
from koes.settings import Settings

# Test data only, never a deployment's key.
KEYS = {
    "draw-1": hashlib.sha256(b"koes attack suite 1").hexdigest(),
    "draw-2": "8580900b92f4f90e8d119fba0cb7942c192e7f9a7f11bdfae3e6b9e6d4e6bd30",
}


def load_with_key(draw: str, extracts: Path, tmp_path_factory: pytest.TempPathFactory) -> AnalysisService:
    """The extracts loaded into a new warehouse whose pseudonymisation key is ``KEYS[draw]``."""
    settings = Settings(data_dir=tmp_path_factory.mktemp(f"attacked-{draw}"), threads=1, memory_limit="2GB")
    settings.pseudonym_key.parent.mkdir(mode=0o700, parents=True)
    descriptor = os.open(settings.pseudonym_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as key_file:
        key_file.write(KEYS[draw] + "\n")
    load_extracts(settings, extracts)
    return AnalysisService(settings)

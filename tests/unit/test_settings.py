from __future__ import annotations

from pathlib import Path

import pytest

from koes.settings import ApiAuth, EngineName, Settings


def test_defaults_derive_paths_from_the_data_folder() -> None:
    s = Settings.from_env({})
    assert s.warehouse == Path("var/warehouse")
    assert s.pseudonym_key == Path("var/secrets/pseudonym.key")


def test_environment_then_cli_overrides() -> None:
    env = {"KOES_DATA_DIR": "/srv/koes", "KOES_THREADS": "4", "KOES_WAREHOUSE_DIR": ""}
    s = Settings.from_env(env)
    assert (s.data_dir, s.threads, s.warehouse) == (
        Path("/srv/koes"),
        4,
        Path("/srv/koes/warehouse"),
    )
    s2 = Settings.from_env(env, data_dir=Path("/tmp/x"), threads=None)
    assert (s2.data_dir, s2.threads) == (Path("/tmp/x"), 4)


def test_a_bad_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="KOES_THREADS must be a whole number"):
        Settings.from_env({"KOES_THREADS": "two"})


def test_closed_sets_read_from_the_environment_become_their_members() -> None:
    s = Settings.from_env({"KOES_ENGINE": "spark", "KOES_API_AUTH": "local"})
    assert (s.engine, s.api_auth) == (EngineName.SPARK, ApiAuth.LOCAL)
    assert isinstance(s.engine, EngineName) and isinstance(s.api_auth, ApiAuth)
    assert f"{s.engine}" == "spark"  # the same text in URLs, logs and JSON as before


def test_a_value_outside_a_closed_set_names_the_variable_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"engine \(KOES_ENGINE\) must be one of duckdb, spark, not 'sqlite'"):
        Settings.from_env({"KOES_ENGINE": "sqlite"})
    with pytest.raises(ValueError, match=r"api_auth \(KOES_API_AUTH\) must be one of token, local"):
        Settings.from_env({"KOES_API_AUTH": "none"})

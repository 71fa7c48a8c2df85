"""The Containerfile and compose.yaml agree with the code: settings, the command, ports, packages."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from koes.cli.main import app
from koes.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "Containerfile"
COMPOSE = ROOT / "compose.yaml"
FIELDS = {f.name for f in dataclasses.fields(Settings)}


def _instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in lines]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _container_env() -> dict[str, str]:
    env = {}
    for kind, rest in _instructions():
        if kind == "ENV":
            env.update(dict(pair.split("=", 1) for pair in rest.split()))
    return env


def _serve_port(command: list[str]) -> int:
    assert "serve" in command
    return int(command[command.index("--port") + 1])


def test_every_koes_variable_is_a_setting_and_reads() -> None:
    for env in (_container_env(), _compose()["services"]["koes"]["environment"]):
        names = {k.removeprefix(ENV_PREFIX).lower() for k in env if k.startswith(ENV_PREFIX)}
        assert names <= FIELDS, names - FIELDS
        Settings.from_env({k: str(v) for k, v in env.items()})  # every value is of the setting's type


def test_the_command_is_koes_serve_on_the_exposed_and_published_port() -> None:
    instructions = _instructions()
    cmd = json.loads(next(rest for kind, rest in instructions if kind == "CMD"))
    exposed = int(next(rest for kind, rest in instructions if kind == "EXPOSE"))
    koes = _compose()["services"]["koes"]
    assert _serve_port(cmd) == exposed == _serve_port(koes["command"])
    assert koes["ports"] == [f"{exposed}:{exposed}"]
    healthcheck = next(rest for kind, rest in instructions if kind == "HEALTHCHECK")
    assert f"127.0.0.1:{exposed}/api/v1/health" in healthcheck
    runner = CliRunner()
    help_text = runner.invoke(app, ["serve", "--help"], terminal_width=200).output
    for option in [a for a in cmd if a.startswith("--")]:
        assert option in help_text


def test_compose_runs_on_postgresql_with_the_database_it_starts() -> None:
    services = _compose()["services"]
    url = services["koes"]["environment"]["KOES_APP_DB_URL"]
    db = services["db"]["environment"]
    assert url == f"postgresql+psycopg://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}@db:5432/{db['POSTGRES_DB']}"
    assert services["koes"]["depends_on"]["db"]["condition"] == "service_healthy"
    data_dir = services["koes"]["environment"]["KOES_DATA_DIR"]
    assert any(v.endswith(f":{data_dir}") for v in services["koes"]["volumes"])
    assert _container_env()["KOES_DATA_DIR"] == data_dir


def test_debian_packages_only() -> None:
    run = " ".join(rest for kind, rest in _instructions() if kind == "RUN")
    packages = set(re.findall(r"--no-install-recommends ([a-z0-9 .+-]+?)(?: &&|$)", run)[0].split())
    assert packages == {"python3", "python3-venv", "postgresql-client"}
    assert "curl" not in run and "wget" not in run  # nothing fetched outside the package managers


@pytest.mark.slow
def test_the_image_builds_and_answers_health() -> None:
    runtime = shutil.which("podman") or shutil.which("docker")
    if runtime is None or subprocess.run([runtime, "info"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no container runtime on this machine")
    subprocess.run([runtime, "build", "-f", str(CONTAINERFILE), "-t", "koes-test", str(ROOT)], check=True)
    probe = "import urllib.request,time; time.sleep(20); print(urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health').status)"
    done = subprocess.run(
        [
            runtime,
            "run",
            "--rm",
            "koes-test",
            "sh",
            "-c",
            f'/opt/koes/venv/bin/koes serve --port 8000 & /opt/koes/venv/bin/python -c "{probe}"',
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout.strip().endswith("200"), done.stderr

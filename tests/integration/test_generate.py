"""`koes generate` end to end: files, determinism, schemas, manifest and bad arguments."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from koes.cli.main import app
from koes.domain.periods import YearRange
from koes.domain.registers import REGISTERS
from koes.refdata import load_refdata
from koes.synthetic.generate import GenerationRequest, generate
from support import schema_problems

runner = CliRunner()
pytestmark = pytest.mark.xdist_group("generation")


def _generate(out: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["generate", "--out", str(out), *args])
    return result.exit_code, result.output


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_arguments_give_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    args = ("--persons", "1500", "--years", "2022-2023", "--seed", "3", "--format", fmt)
    assert _generate(tmp_path / "a", *args)[0] == 0
    assert _generate(tmp_path / "b", *args)[0] == 0
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert first == second
    assert set(first) == {f"{r.name}.{fmt}" for r in REGISTERS} | {"generation.json"}
    assert _generate(tmp_path / "c", *args[:-2], "--seed", "4", "--format", fmt)[0] == 0
    assert _digests(tmp_path / "c")["lpr_kontakter." + fmt] != first["lpr_kontakter." + fmt]


def test_several_chunks_give_identical_files_and_unique_persons_and_keys(tmp_path: Path) -> None:
    """Chunks share CPR uniqueness, running keys and a background writer: all must hold across them."""
    runs = []
    for name in ("a", "b"):
        request = GenerationRequest(3000, YearRange(2023, 2023), 5, tmp_path / name, chunk_persons=700)
        generate(request, load_refdata())
        runs.append(_digests(tmp_path / name))
    assert runs[0] == runs[1]
    manifest = json.loads((tmp_path / "a" / "generation.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["chunk_persons"] == 700
    assert schema_problems(tmp_path / "a", "parquet") == []  # keys unique, references whole


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_every_file_validates_against_its_declared_schema(tmp_path: Path, fmt: str) -> None:
    assert _generate(tmp_path, "--persons", "3000", "--years", "2022-2024", "--format", fmt)[0] == 0
    assert schema_problems(tmp_path, fmt) == []


def test_the_schema_check_catches_a_broken_file(tmp_path: Path) -> None:
    assert _generate(tmp_path, "--persons", "500", "--years", "2023", "--format", "csv")[0] == 0
    path = tmp_path / "lpr_kontakter.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("ATA1", "ATA9").replace("ATA3", "ATA9")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert schema_problems(tmp_path, "csv") == ["lpr_kontakter.prioritet: 1 values not in code list prioritet"]


def test_manifest_records_parameters_and_counts(tmp_path: Path) -> None:
    code, output = _generate(tmp_path, "--persons", "2000", "--years", "2023", "--seed", "7")
    assert code == 0, output
    manifest = json.loads((tmp_path / "generation.json").read_text(encoding="utf-8"))
    assert manifest["parameters"] == {
        "persons": 2000,
        "years": [2023, 2023],
        "seed": 7,
        "format": "parquet",
        "chunk_persons": 250000,
    }
    assert manifest["synthetic"] is True
    assert manifest["row_counts"]["cpr_personer"] > 2000  # births and immigrants come on top
    assert f"koes calibration {tmp_path}" in " ".join(output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--persons", "0"), "--persons must be at least 1 (got 0)"),
        (("--persons", "-5"), "--persons must be at least 1"),
        (("--years", "2024-2022"), "--years"),
        (("--years", "soon"), "--years"),
        (("--seed", "-1"), "--seed must be zero or positive"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, output = _generate(tmp_path / "out", *args)
    assert code == 2
    assert message in output
    assert not (tmp_path / "out").exists()


def test_a_folder_holding_other_files_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    for extra in ((), ("--force",)):
        code, output = _generate(tmp_path, "--persons", "100", *extra)
        assert code == 2
        assert "holds other files (notes.txt)" in output
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_an_earlier_generation_is_replaced_only_with_force(tmp_path: Path) -> None:
    out = tmp_path / "x"
    assert _generate(out, "--persons", "200", "--years", "2023")[0] == 0
    before = _digests(out)
    code, output = _generate(out, "--persons", "300", "--years", "2023")
    assert code == 2
    assert "add --force" in output
    assert _digests(out) == before
    assert _generate(out, "--persons", "300", "--years", "2023", "--force")[0] == 0
    assert _digests(out) != before
    assert [p.name for p in tmp_path.iterdir()] == ["x"]  # no staging folders left behind

"""Hand-made register extracts: a few persons' rows written with the product's extract writer and
loaded through the real pipeline (``Extracts.load``), for tests that assert exact derived rows or
exact published figures. The warehouse holds no CPR numbers, so persons are told apart by their
birth dates (unique within each hand-made set).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from koes.domain.periods import YearRange
from koes.services.warehouse import load_extracts
from koes.settings import Settings
from koes.synthetic.writer import ExtractFormat, ExtractWriter

D = Decimal
T, F = True, False
SOM, PSY = "somatik", "psykiatri"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def d(text: str) -> date:
    return date.fromisoformat(text)


def birth_of(pnr: str) -> date:
    """Birth date of a hand-made CPR number; these all use digit 7 in 0–3 (born 1900–1999)."""
    assert pnr[6] in "0123", "hand-made CPR numbers here are all born in the 1900s"
    return date(1900 + int(pnr[4:6]), int(pnr[2:4]), int(pnr[0:2]))


@dataclass
class Extracts:
    """A tiny set of register rows, written with the product's extract writer."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _next_id: int = 1

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def person(self, pnr: str, kommune: str = "0101", since: date | None = None) -> str:
        born = birth_of(pnr)
        sex = "1" if int(pnr[-1]) % 2 else "2"
        self.rows["cpr_personer"].append(
            {"pnr": pnr, "koen": sex, "foed_dato": born, "status": "01", "status_dato": None}
        )
        self.rows["cpr_adresser"].append(
            {"pnr": pnr, "kommunekode": kommune, "fra_dato": since or born, "til_dato": None}
        )
        return pnr

    def move(self, pnr: str, kommune: str, on: date) -> None:
        current = next(a for a in self.rows["cpr_adresser"] if a["pnr"] == pnr and a["til_dato"] is None)
        current["til_dato"] = on
        self.rows["cpr_adresser"].append({"pnr": pnr, "kommunekode": kommune, "fra_dato": on, "til_dato": None})

    def contact(
        self,
        pnr: str,
        start: str,
        end: str,
        *,
        kont_type: str = "ALCA00",
        acute: bool = False,
        adiag: str = "DR69",
        specialty: str = "intern_medicin",
        hospital: str = "herlev",
        drg: float | None = None,
    ) -> int:
        course = self._id()
        contact = self._id()
        self.rows["lpr_forloebselementer"].append(
            {
                "dw_ek_forloeb": course,
                "pnr": pnr,
                "forloebslabel": "AFA10" if "psykiatri" in specialty else "AFA00",
                "ansvarlig_inst": hospital,
                "dato_start": ts(start).date(),
                "dato_slut": ts(end).date(),
            }
        )
        self.rows["lpr_kontakter"].append(
            {
                "dw_ek_kontakt": contact,
                "dw_ek_forloeb": course,
                "pnr": pnr,
                "kont_starttidspunkt": ts(start),
                "kont_sluttidspunkt": ts(end),
                "kont_type": kont_type,
                "prioritet": "ATA1" if acute else "ATA3",
                "adiag": adiag,
                "kont_ans_hovedspec": specialty,
                "kont_ans_inst": hospital,
            }
        )
        self.diagnosis(contact, adiag, "A")
        if drg is not None:
            self.rows["drg_kontakter"].append(
                {"dw_ek_kontakt": contact, "drg_kode": "04MA01", "takst": drg, "takst_aar": ts(start).year}
            )
        return contact

    def diagnosis(self, contact: int, code: str, kind: str = "B", disproved: bool = False) -> None:
        self.rows["lpr_diagnoser"].append(
            {
                "dw_ek_kontakt": contact,
                "diag_kode": code,
                "diag_kode_type": kind,
                "senere_afkraeftet": "Ja" if disproved else "Nej",
            }
        )

    def discharge_ready(self, pnr: str, contact: int, sector: str, fra: str, til: str) -> None:
        self.rows["faerdigbehandlede"].append(
            {"pnr": pnr, "dw_ek_kontakt": contact, "sektor": sector, "fra_dato": d(fra), "til_dato": d(til)}
        )

    def service(self, pnr: str, day: str, speciale: str = "800101", contacts: int = 1, fee: float = 150.0) -> None:
        self.rows["ssr_ydelser"].append(
            {
                "pnr": pnr,
                "ydernr": "123456",
                "speciale": speciale,
                "ydlant": max(contacts, 1),
                "kontakt": contacts,
                "bruhon": fee,
                "honuge": d(day).strftime("%y%V"),
                "behandlingsdato": d(day),
                "sikgrup": "1",
            }
        )

    def prescription(self, pnr: str, day: str, atc: str, packages: int = 1) -> None:
        self.rows["lms_ekspeditioner"].append(
            {"pnr": pnr, "eksd": d(day), "atc": atc, "vnr": "100001", "apk": packages, "pris": 100.0, "tilskud": 50.0}
        )

    def benefit(self, pnr: str, code: str, first_week: int, last_week: int) -> None:
        self.rows["dream_forloeb"].append(
            {"pnr": pnr, "ydelseskode": code, "fra_uge": first_week, "til_uge": last_week}
        )

    def home_care(self, pnr: str, kommune: str, month: str, group: str, assessed: float, delivered: float) -> None:
        self.rows["eoj_hjemmepleje"].append(
            {
                "pnr": pnr,
                "kommunekode": kommune,
                "plejedistrikt": f"{kommune}-01",
                "maaned": d(month),
                "ydelsesgruppe": group,
                "visiterede_timer": assessed,
                "leverede_timer": delivered,
            }
        )

    def nursing_home(self, pnr: str, kommune: str, fra: str, til: str | None) -> None:
        self.rows["eoj_plejebolig"].append(
            {
                "pnr": pnr,
                "kommunekode": kommune,
                "plejedistrikt": f"{kommune}-02",
                "fra_dato": d(fra),
                "til_dato": d(til) if til else None,
            }
        )

    def load(
        self, tmp_path: Path, fmt: ExtractFormat = ExtractFormat.CSV, period: YearRange | None = None
    ) -> Warehouse:
        folder = tmp_path / "extracts"
        folder.mkdir()
        writer = ExtractWriter(folder, fmt)
        for register, rows in self.rows.items():
            writer.write(register, pa.Table.from_pylist(rows))
        writer.close()
        settings = Settings(data_dir=tmp_path / "var", threads=1, memory_limit="1GB")
        result = load_extracts(settings, folder, period)
        quarantined = {a.register: a.rows_quarantined for a in result.accounting if a.rows_quarantined}
        assert not quarantined, f"hand-made rows were quarantined: {quarantined}"
        return Warehouse(duckdb.connect(str(result.release.serving_file), read_only=True), settings)


@dataclass
class Warehouse:
    con: duckdb.DuckDBPyConnection
    settings: Settings  # of the load: an AnalysisService(settings) answers requests over it

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` as tuples."""
        return [tuple(r) for r in self.con.execute(sql).fetchall()]

    def of(self, table: str, columns: str, where: str = "true", order: str = "") -> list[tuple[Any, ...]]:
        """``columns`` of ``table`` with the person's birth date first, ordered by it (then ``order``)."""
        extra = f", {order}" if order else ""
        return self.rows(
            f"SELECT p.birth_date, {columns} FROM {table} t JOIN persons p USING (person_id) "
            f"WHERE {where} ORDER BY p.birth_date{extra}"
        )


def cpr(born: str, serial: str = "1235") -> str:
    """A CPR number for a birth date in the 1900s (digit 7 of ``serial`` in 0–3 keeps the century)."""
    b = d(born)
    assert 1900 <= b.year <= 1999 and serial[0] in "0123"
    return b.strftime("%d%m%y") + serial


def build(
    x: Extracts, factory: pytest.TempPathFactory, fmt: ExtractFormat, period: YearRange | None = None
) -> Iterator[Warehouse]:
    w = x.load(factory.mktemp("load"), fmt, period)
    yield w
    w.con.close()

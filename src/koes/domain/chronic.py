"""Chronic conditions per person and year: a documented algorithm, declared as data.

A person has a condition in a year when, up to the end of that year within the extract, any
hospital contact carried one of its diagnoses (action or secondary, not later disproved), or
when the person redeemed at least ``min_redemptions`` prescriptions of its medicines in that
year. The code sets follow common Danish register practice (e.g. the RUKS algorithms) in a
simplified form; they are marked [I] in docs/warehouse.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChronicCondition:
    id: str
    label_da: str
    label_en: str
    diagnosis_prefixes: tuple[str, ...]  # SKS codes (D + ICD-10) a diagnosis must start with
    atc_prefixes: tuple[str, ...]
    min_redemptions: int


def _span(prefix: str, first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n:02d}" for n in range(first, last + 1))


CHRONIC_CONDITIONS: tuple[ChronicCondition, ...] = (
    ChronicCondition("diabetes", "Diabetes", "Diabetes", _span("DE", 10, 14), ("A10",), 2),
    ChronicCondition("kol", "KOL", "COPD", ("DJ44",), ("R03BB",), 2),
    ChronicCondition("hjertesvigt", "Hjertesvigt", "Heart failure", ("DI50", "DI110", "DI130", "DI132"), ("C03CA",), 2),
    ChronicCondition("demens", "Demens", "Dementia", (*_span("DF", 0, 3), "DG30"), ("N06D",), 1),
    ChronicCondition(
        "svaer_psykisk_lidelse",
        "Svær psykisk lidelse",
        "Severe mental illness",
        (*_span("DF", 20, 31), "DF322", "DF323", "DF33"),
        ("N05A",),
        2,
    ),
    ChronicCondition("kraeft", "Kræft", "Cancer", _span("DC", 0, 97), ("L01", "L02"), 1),
    ChronicCondition("astma", "Astma", "Asthma", ("DJ45", "DJ46"), ("R03AK", "R03BA"), 2),
)

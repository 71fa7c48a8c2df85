"""Preventable admissions (forebyggelige indlæggelser) among citizens 65+, declared as data.

The nine groups are eSundhed's (domain-notes §1.3, verified); the ICD-10 mapping is the
suggested one recorded there (marked [I]: to be confirmed against the eSundhed definition).
An admission counts when the citizen is 65 or older, the admission is acute (ATA1) and its
action diagnosis starts with one of a group's SKS prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_AGE = 65


@dataclass(frozen=True)
class PreventableGroup:
    id: str
    label_da: str
    label_en: str
    prefixes: tuple[str, ...]  # SKS diagnosis codes (D + ICD-10) a code must start with


def _span(letter_digit: str, first: int, last: int) -> tuple[str, ...]:
    return tuple(f"{letter_digit}{n:02d}" for n in range(first, last + 1))


PREVENTABLE_GROUPS: tuple[PreventableGroup, ...] = (
    PreventableGroup("dehydrering", "Dehydrering", "Dehydration", ("DE86",)),
    PreventableGroup("forstoppelse", "Forstoppelse", "Constipation", ("DK590",)),
    PreventableGroup(
        "nedre_luftveje",
        "Nedre luftvejssygdomme",
        "Lower respiratory disease",
        (*_span("DJ", 12, 18), *_span("DJ", 20, 22), "DJ44"),
    ),
    PreventableGroup("blaerebetaendelse", "Blærebetændelse", "Cystitis", ("DN300", "DN390")),
    PreventableGroup("gastroenteritis", "Gastroenteritis", "Gastroenteritis", ("DA09", "DK529")),
    PreventableGroup("brud", "Brud", "Fractures", ("DS32", "DS42", "DS52", "DS72")),
    PreventableGroup("anaemi", "Ernæringsbetinget anæmi", "Nutritional anaemia", _span("DD", 50, 53)),
    PreventableGroup(
        "sociale_forhold",
        "Sociale og plejemæssige forhold",
        "Social and care reasons",
        (*_span("DZ", 59, 60), *_span("DZ", 74, 75)),
    ),
    PreventableGroup("tryksaar", "Tryksår", "Pressure ulcers", ("DL89",)),
)


def preventable_group(sks_code: str) -> str | None:
    """The preventable-admission group an action diagnosis belongs to, or None."""
    code = sks_code.strip().upper()
    for group in PREVENTABLE_GROUPS:
        if code.startswith(group.prefixes):
            return group.id
    return None

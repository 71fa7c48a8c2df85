"""Fixed code lists used by the register schemas, declared as data.

Lists that come from public reference files (kommunekode, ICD-10/SKS, ATC, hospitals) live in
``koes.refdata``; the lists here are small and stable enough to be part of the domain. Every code
carries a Danish and an English label and optional attributes (e.g. the sector of a specialty),
so the same declaration drives validation, synthetic data, dimensions and documentation.

Sources are in ``shared/domain-notes.md``; codes marked ``[I]`` in a description are the
project's own assumption where the public sources were silent, and are documented as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Code:
    code: str
    label_da: str
    label_en: str
    attrs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeList:
    name: str
    description: str
    codes: tuple[Code, ...]

    def __contains__(self, value: object) -> bool:
        return any(c.code == value for c in self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.codes)

    def get(self, code: str) -> Code:
        for c in self.codes:
            if c.code == code:
                return c
        raise KeyError(f"{code!r} is not a code in code list {self.name!r}")

    def where(self, **attrs: str) -> tuple[str, ...]:
        """Codes whose attributes all equal the given values, e.g. ``where(sector="psykiatri")``."""
        return tuple(c.code for c in self.codes if all(c.attrs.get(k) == v for k, v in attrs.items()))


def _codes(*rows: tuple[str, str, str] | tuple[str, str, str, dict[str, str]]) -> tuple[Code, ...]:
    return tuple(Code(*row) for row in rows)


KOEN = CodeList(
    "koen",
    "Sex in CPR: 1 male, 2 female (derived from the last CPR digit: odd = male).",
    _codes(("1", "Mand", "Male"), ("2", "Kvinde", "Female")),
)

CPR_STATUS = CodeList(
    "cpr_status",
    "CPR status code of the person record (record type 001).",
    _codes(
        ("01", "Aktiv, bopæl i dansk folkeregister", "Active, resident in Denmark"),
        ("03", "Aktiv, speciel vejkode i dansk folkeregister", "Active, special road code"),
        ("05", "Aktiv, bopæl i grønlandsk folkeregister", "Active, resident in Greenland"),
        ("07", "Aktiv, speciel vejkode i grønlandsk folkeregister", "Active, special road code GL"),
        ("20", "Inaktiv, uden bopæl i dansk/grønlandsk folkeregister", "Inactive, no residence"),
        ("30", "Inaktiv, annulleret personnummer", "Inactive, cancelled number"),
        ("50", "Inaktiv, slettet ved dobbeltnummer", "Inactive, deleted duplicate"),
        ("60", "Inaktiv, ændret personnummer", "Inactive, changed number"),
        ("70", "Inaktiv, forsvundet", "Inactive, disappeared"),
        ("80", "Inaktiv, udrejst", "Inactive, emigrated"),
        ("90", "Inaktiv, død", "Inactive, deceased"),
    ),
)

KONTAKTTYPE = CodeList(
    "kont_type",
    "LPR3 contact type (SKS ALCA). ALCA10 as home/outreach contact is an assumption [I].",
    _codes(
        ("ALCA00", "Fysisk fremmøde", "Physical attendance", {"physical": "1"}),
        ("ALCA03", "Virtuel kontakt", "Virtual contact", {"physical": "0"}),
        ("ALCA10", "Udekontakt (hjemmebesøg)", "Outreach contact (home visit)", {"physical": "1"}),
    ),
)

PRIORITET = CodeList(
    "prioritet",
    "LPR3 priority of a contact: ATA1 acute, ATA3 planned.",
    _codes(("ATA1", "Akut", "Acute"), ("ATA3", "Planlagt", "Planned")),
)

DIAGNOSETYPE = CodeList(
    "diag_kode_type",
    "Diagnosis type: A action diagnosis (aktionsdiagnose), B secondary (bidiagnose).",
    _codes(("A", "Aktionsdiagnose", "Action diagnosis"), ("B", "Bidiagnose", "Secondary diagnosis")),
)

JA_NEJ = CodeList("ja_nej", "Yes/no flag as written in LPR.", _codes(("Ja", "Ja", "Yes"), ("Nej", "Nej", "No")))

PROCEDURETYPE = CodeList(
    "proceduretype",
    "Procedure type: P primary procedure, + additional code (tillægskode).",
    _codes(("P", "Primær procedure", "Primary procedure"), ("+", "Tillægskode", "Additional code")),
)

_SOM = {"sector": "somatik"}
_PSY = {"sector": "psykiatri"}
HOVEDSPECIALE = CodeList(
    "hovedspeciale",
    "Main specialty of the unit responsible for a contact (kont_ans_hovedspec); the sector "
    "(somatics or psychiatry) follows from it.",
    _codes(
        ("akutmedicin", "Akutmedicin", "Emergency medicine", _SOM),
        ("anaestesiologi", "Anæstesiologi", "Anaesthesiology", _SOM),
        ("dermato_venerologi", "Dermato-venerologi", "Dermatology", _SOM),
        ("endokrinologi", "Endokrinologi", "Endocrinology", _SOM),
        ("gastroenterologi", "Gastroenterologi og hepatologi", "Gastroenterology", _SOM),
        ("geriatri", "Geriatri", "Geriatrics", _SOM),
        ("gynaekologi_obstetrik", "Gynækologi og obstetrik", "Gynaecology and obstetrics", _SOM),
        ("intern_medicin", "Intern medicin", "Internal medicine", _SOM),
        ("kardiologi", "Kardiologi", "Cardiology", _SOM),
        ("kirurgi", "Kirurgi", "Surgery", _SOM),
        ("lungesygdomme", "Lungesygdomme", "Pulmonology", _SOM),
        ("nefrologi", "Nefrologi", "Nephrology", _SOM),
        ("neurologi", "Neurologi", "Neurology", _SOM),
        ("oftalmologi", "Oftalmologi", "Ophthalmology", _SOM),
        ("onkologi", "Onkologi", "Oncology", _SOM),
        ("ortopaedisk_kirurgi", "Ortopædisk kirurgi", "Orthopaedic surgery", _SOM),
        ("oto_rhino_laryngologi", "Oto-rhino-laryngologi", "Otorhinolaryngology", _SOM),
        ("paediatri", "Pædiatri", "Paediatrics", _SOM),
        ("reumatologi", "Reumatologi", "Rheumatology", _SOM),
        ("urologi", "Urologi", "Urology", _SOM),
        ("psykiatri", "Psykiatri", "Psychiatry", _PSY),
        (
            "boerne_ungdomspsykiatri",
            "Børne- og ungdomspsykiatri",
            "Child and adolescent psychiatry",
            _PSY,
        ),
    ),
)

FORLOEBSLABEL = CodeList(
    "forloebslabel",
    "Label of an LPR3 course element (forløbselement). The code values are the project's own "
    "simplification [I]; real labels are SKS codes maintained by Sundhedsdatastyrelsen.",
    _codes(
        ("AFA00", "Øvrige somatiske forløb", "Other somatic courses"),
        ("AFA01", "Kræft", "Cancer"),
        ("AFA02", "Hjertesygdom", "Heart disease"),
        ("AFA03", "Diabetes", "Diabetes"),
        ("AFA04", "KOL og lungesygdom", "COPD and lung disease"),
        ("AFA05", "Graviditet og fødsel", "Pregnancy and birth"),
        ("AFA06", "Akut forløb", "Acute course"),
        ("AFA10", "Psykiatrisk forløb", "Psychiatric course"),
    ),
)

SEKTOR = CodeList(
    "sektor",
    "Hospital sector.",
    _codes(("somatik", "Somatik", "Somatics"), ("psykiatri", "Psykiatri", "Psychiatry")),
)

_GP = {"group": "almen_praksis"}
_SPEC = {"group": "speciallaege"}
_OTHER = {"group": "oevrige"}
SSR_SPECIALE = CodeList(
    "ssr_speciale",
    "Two-digit SSR specialty (first two digits of `speciale`), grouped into general practice, "
    "practising specialists and other providers.",
    _codes(
        ("04", "Dermato-venerologi", "Dermatology", _SPEC),
        ("06", "Reumatologi", "Rheumatology", _SPEC),
        ("07", "Gynækologi/obstetrik", "Gynaecology/obstetrics", _SPEC),
        ("08", "Intern medicin", "Internal medicine", _SPEC),
        ("09", "Kirurgi", "Surgery", _SPEC),
        ("19", "Øjenlægehjælp", "Ophthalmology", _SPEC),
        ("20", "Ortopædkirurgi", "Orthopaedic surgery", _SPEC),
        ("21", "Ørelægehjælp", "Otorhinolaryngology", _SPEC),
        ("24", "Psykiatri", "Psychiatry", _SPEC),
        ("25", "Pædiatri", "Paediatrics", _SPEC),
        ("26", "Børnepsykiatri", "Child psychiatry", _SPEC),
        ("50", "Tandlægehjælp", "Dentistry", _OTHER),
        ("51", "Fysioterapi", "Physiotherapy", _OTHER),
        ("53", "Kiropraktik", "Chiropractic", _OTHER),
        ("54", "Fodterapi", "Podiatry", _OTHER),
        ("62", "Vederlagsfri fysioterapi", "Free physiotherapy", _OTHER),
        ("63", "Psykologhjælp", "Psychologist", _OTHER),
        ("80", "Almen lægehjælp", "General practice", _GP),
        ("81", "Vagtlægehjælp", "Out-of-hours GP", _GP),
    ),
)

_CONTACT = {"kontakt": "1"}
_NO_CONTACT = {"kontakt": "0"}
SSR_YDELSE = CodeList(
    "ssr_ydelse",
    "Four-digit service code (last four digits of `speciale`), from the 2022 GP agreement; "
    "whether a service counts as a contact is the `kontakt` attribute. 3001 (an examination or "
    "treatment a practising specialist bills on top of the consultation) is the synthetic data's "
    "own [I].",
    _codes(
        ("0101", "Konsultation", "Consultation", _CONTACT),
        ("0105", "E-konsultation", "E-mail consultation", _CONTACT),
        ("0120", "Årsstatus", "Annual review", _CONTACT),
        ("0121", "Opsøgende hjemmebesøg", "Outreach home visit", _CONTACT),
        ("0125", "Videokonsultation", "Video consultation", _CONTACT),
        ("0201", "Telefonkonsultation", "Telephone consultation", _CONTACT),
        ("0411", "Sygebesøg", "Home visit", _CONTACT),
        ("2101", "Blodtagning", "Blood sample", _NO_CONTACT),
        ("2102", "Celleprøve", "Cervical smear", _NO_CONTACT),
        (
            "3001",
            "Tillægsydelse (undersøgelse eller behandling)",
            "Additional service (examination or treatment)",
            _NO_CONTACT,
        ),
        ("6101", "Samtaleterapi", "Talk therapy", _CONTACT),
    ),
)

SIKRINGSGRUPPE = CodeList(
    "sikgrup",
    "Health insurance group: 1 needs GP referral, 2 direct access with co-payment.",
    _codes(
        ("1", "Sikringsgruppe 1", "Insurance group 1"),
        ("2", "Sikringsgruppe 2", "Insurance group 2"),
    ),
)


def _benefit(kind: str) -> dict[str, str]:
    return {"benefit_type": kind}


DREAM_YDELSE = CodeList(
    "dream_ydelse",
    "DREAM benefit codes grouped into benefit types. 890/893 (sickness benefit) and 781–785 "
    "(disability pension family) follow the research literature; the other code values are the "
    "synthetic data's own [I] and are documented in docs/synthetic-data.md.",
    _codes(
        ("111", "A-dagpenge", "Unemployment insurance benefit", _benefit("ledighed")),
        ("130", "Kontanthjælp", "Social assistance", _benefit("kontanthjaelp")),
        ("651", "SU (uddannelse)", "Student grant", _benefit("uddannelse")),
        ("621", "Efterløn", "Voluntary early retirement", _benefit("efterloen")),
        (
            "760",
            "Ressource- og jobafklaringsforløb",
            "Rehabilitation programme",
            _benefit("ressource"),
        ),
        ("771", "Fleksjob", "Flexible job", _benefit("fleksjob")),
        ("781", "Førtidspension", "Disability pension", _benefit("foertidspension")),
        (
            "783",
            "Førtidspension (forhøjet)",
            "Disability pension (increased)",
            _benefit("foertidspension"),
        ),
        ("890", "Sygedagpenge", "Sickness benefit", _benefit("sygedagpenge")),
        ("893", "Sygedagpenge (ledig)", "Sickness benefit (unemployed)", _benefit("sygedagpenge")),
        ("998", "Folkepension", "State pension", _benefit("folkepension")),
    ),
)

BENEFIT_TYPE = CodeList(
    "benefit_type",
    "Benefit types that DREAM codes are grouped into.",
    _codes(
        ("ledighed", "Ledighed", "Unemployment"),
        ("kontanthjaelp", "Kontanthjælp", "Social assistance"),
        ("uddannelse", "Uddannelse (SU)", "Education (student grant)"),
        ("efterloen", "Efterløn", "Early retirement"),
        ("ressource", "Ressource- og jobafklaring", "Rehabilitation"),
        ("fleksjob", "Fleksjob", "Flexible job"),
        ("foertidspension", "Førtidspension", "Disability pension"),
        ("sygedagpenge", "Sygedagpenge", "Sickness benefit"),
        ("folkepension", "Folkepension", "State pension"),
    ),
)

PLEJE_YDELSESGRUPPE = CodeList(
    "pleje_ydelsesgruppe",
    "Care service groups from the municipal care record (EOJ), grouped as in FSIII.",
    _codes(
        ("personlig_pleje", "Personlig pleje (SEL § 83)", "Personal care"),
        ("praktisk_hjaelp", "Praktisk hjælp (SEL § 83)", "Practical help"),
        ("sygepleje", "Hjemmesygepleje (SUL § 138)", "Home nursing"),
        ("traening", "Træning (SEL § 86)", "Rehabilitation training"),
    ),
)

CODE_LISTS: Mapping[str, CodeList] = {
    cl.name: cl
    for cl in (
        KOEN,
        CPR_STATUS,
        KONTAKTTYPE,
        PRIORITET,
        DIAGNOSETYPE,
        JA_NEJ,
        PROCEDURETYPE,
        HOVEDSPECIALE,
        FORLOEBSLABEL,
        SEKTOR,
        SSR_SPECIALE,
        SSR_YDELSE,
        SIKRINGSGRUPPE,
        DREAM_YDELSE,
        BENEFIT_TYPE,
        PLEJE_YDELSESGRUPPE,
    )
}

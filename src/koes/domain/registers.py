"""Register schemas, declared once.

Each register extract (CPR, LPR3, DRG, færdigbehandlede, SSR, LMS, DREAM, EOJ) is described by a
``Register``: its columns with types, constraints, code lists and Danish/English descriptions, its
unique key and its references to other registers. The same declarations drive the synthetic
generator, ETL validation and the generated reference docs; a register's layout is changed here
and nowhere else.

Column names follow the research layouts recorded in ``shared/domain-notes.md`` §2 (e.g. DST's
``lpr_a_kontakt``, SSSY and LMDB) where those exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"  # kroner and hours; stored as double
    DATE = "date"
    TIMESTAMP = "timestamp"  # local time, second precision, no time zone (as LPR reports it)


# Code lists resolved from the shipped reference data rather than from domain.codelists.
REFDATA_CODE_LISTS = frozenset({"kommunekode", "sks_diagnose", "atc", "hospital"})


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description_da: str
    description_en: str
    required: bool = True
    codes: str | None = None  # name of a code list (domain.codelists or REFDATA_CODE_LISTS)
    code_prefix: int | None = None  # check only the first N characters against the code list
    pattern: str | None = None  # regular expression the text form must match in full
    min_value: float | None = None
    max_value: float | None = None
    cpr: bool = False  # holds a CPR number: pseudonymised at the door, never stored
    iso_week: bool = False  # an ISO week written YYYYWW (week 53 only in years that have one)


@dataclass(frozen=True)
class Reference:
    """Rows of this register must point at an existing row of another register."""

    columns: tuple[str, ...]
    register: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Periods:
    """Rows of one ``group`` are periods that must not overlap (e.g. a person's addresses)."""

    group: str
    start: str
    end: str  # empty end = still open
    end_inclusive: bool = False  # weeks are inclusive; dates are half-open [start, end)


@dataclass(frozen=True)
class Register:
    name: str
    source: str  # the national register it is an extract of
    title_da: str
    title_en: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    event_date: str | None = None  # the column that places a row in a year (for partitions)
    ordered: tuple[tuple[str, str], ...] = ()  # (first, second): second may not come before first
    periods: Periods | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"register {self.name}: duplicate column names")
        pairs = [c for pair in self.ordered for c in pair]
        if self.periods:
            pairs += [self.periods.group, self.periods.start, self.periods.end]
        for col in (*self.key, *(self.event_date,) * bool(self.event_date), *pairs):
            if col not in names:
                raise ValueError(f"register {self.name}: {col!r} is not one of its columns")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"register {self.name} has no column {name!r}")


def _pnr() -> Column:
    return Column(
        "pnr",
        ColumnType.STRING,
        "Personnummer (CPR), DDMMÅÅ-SSSS eller DDMMÅÅSSSS",
        "Personal identification number (CPR), DDMMYY-SSSS or DDMMYYSSSS",
        pattern=r"\s*\d{6}-?\d{4}\s*",
        cpr=True,
    )


_S, _I, _D, _DT, _TS = (
    ColumnType.STRING,
    ColumnType.INTEGER,
    ColumnType.DECIMAL,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
)

CPR_PERSONER = Register(
    "cpr_personer",
    "CPR",
    "CPR personer",
    "CPR persons",
    "One row per person ever resident in the extract period: sex, birth date and CPR status.",
    (
        _pnr(),
        Column("koen", _S, "Køn (1 mand, 2 kvinde)", "Sex (1 male, 2 female)", codes="koen"),
        Column("foed_dato", _DT, "Fødselsdato", "Date of birth"),
        Column("status", _S, "CPR-status", "CPR status code", codes="cpr_status"),
        Column(
            "status_dato",
            _DT,
            "Dato for seneste statusændring (død, udrejse)",
            "Date of the latest status change (death, emigration)",
            required=False,
        ),
    ),
    key=("pnr",),
)

CPR_ADRESSER = Register(
    "cpr_adresser",
    "CPR",
    "CPR bopælshistorik",
    "CPR residence history",
    "Municipality of residence over time. A person lives in kommunekode on the days "
    "fra_dato <= d < til_dato; periods of one person follow each other without overlap, and the "
    "current period has no til_dato. Residence on an event's date decides which municipality "
    "the event belongs to.",
    (
        _pnr(),
        Column(
            "kommunekode",
            _S,
            "Bopælskommune, 4 cifre (0101)",
            "Municipality of residence, 4 digits (0101)",
            codes="kommunekode",
            pattern=r"\d{4}",
        ),
        Column("fra_dato", _DT, "Tilflytningsdato", "Moved in"),
        Column(
            "til_dato",
            _DT,
            "Fraflytningsdato (tom = nuværende)",
            "Moved out (empty = current)",
            required=False,
        ),
    ),
    key=("pnr", "fra_dato"),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    event_date="fra_dato",
    ordered=(("fra_dato", "til_dato"),),
    periods=Periods("pnr", "fra_dato", "til_dato"),
)

LPR_FORLOEBSELEMENTER = Register(
    "lpr_forloebselementer",
    "LPR3",
    "LPR3 forløbselementer",
    "LPR3 course elements",
    "Groups the contacts of one disease course under a label and a responsible hospital.",
    (
        Column("dw_ek_forloeb", _I, "Forløbselementets nøgle", "Course element key"),
        _pnr(),
        Column("forloebslabel", _S, "Forløbslabel", "Course label", codes="forloebslabel"),
        Column("ansvarlig_inst", _S, "Ansvarligt sygehus", "Responsible hospital", codes="hospital"),
        Column("dato_start", _DT, "Startdato", "Start date"),
        Column("dato_slut", _DT, "Slutdato (tom = åbent)", "End date (empty = open)", required=False),
    ),
    key=("dw_ek_forloeb",),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    event_date="dato_start",
    ordered=(("dato_start", "dato_slut"),),
)

LPR_KONTAKTER = Register(
    "lpr_kontakter",
    "LPR3",
    "LPR3 kontakter",
    "LPR3 contacts",
    "Every hospital contact, physical or virtual, somatic or psychiatric. Stays (sygehusophold) "
    "and admissions are derived, not reported.",
    (
        Column("dw_ek_kontakt", _I, "Kontaktens nøgle", "Contact key"),
        Column("dw_ek_forloeb", _I, "Forløbselementets nøgle", "Course element key"),
        _pnr(),
        Column("kont_starttidspunkt", _TS, "Kontaktens start", "Contact start"),
        Column("kont_sluttidspunkt", _TS, "Kontaktens slut", "Contact end"),
        Column("kont_type", _S, "Kontakttype", "Contact type", codes="kont_type"),
        Column("prioritet", _S, "Prioritet (ATA1 akut)", "Priority (ATA1 acute)", codes="prioritet"),
        Column(
            "adiag",
            _S,
            "Aktionsdiagnose (SKS, D-præfiks)",
            "Action diagnosis (SKS, D prefix)",
            codes="sks_diagnose",
            code_prefix=4,
            pattern=r"D[A-Z]\d{2}[0-9A-Z]{0,3}",
        ),
        Column(
            "kont_ans_hovedspec",
            _S,
            "Ansvarlig enheds hovedspeciale",
            "Main specialty of the responsible unit",
            codes="hovedspeciale",
        ),
        Column("kont_ans_inst", _S, "Ansvarligt sygehus", "Responsible hospital", codes="hospital"),
    ),
    key=("dw_ek_kontakt",),
    references=(
        Reference(("pnr",), "cpr_personer", ("pnr",)),
        Reference(("dw_ek_forloeb",), "lpr_forloebselementer", ("dw_ek_forloeb",)),
    ),
    event_date="kont_starttidspunkt",
    ordered=(("kont_starttidspunkt", "kont_sluttidspunkt"),),
)

LPR_DIAGNOSER = Register(
    "lpr_diagnoser",
    "LPR3",
    "LPR3 diagnoser",
    "LPR3 diagnoses",
    "Diagnoses of a contact: one action diagnosis (A) and any number of secondary ones (B).",
    (
        Column("dw_ek_kontakt", _I, "Kontaktens nøgle", "Contact key"),
        Column(
            "diag_kode",
            _S,
            "Diagnosekode (SKS)",
            "Diagnosis code (SKS)",
            codes="sks_diagnose",
            code_prefix=4,
            pattern=r"D[A-Z]\d{2}[0-9A-Z]{0,3}",
        ),
        Column("diag_kode_type", _S, "Diagnosetype", "Diagnosis type", codes="diag_kode_type"),
        Column("senere_afkraeftet", _S, "Senere afkræftet", "Later disproved", codes="ja_nej"),
    ),
    key=("dw_ek_kontakt", "diag_kode", "diag_kode_type"),
    references=(Reference(("dw_ek_kontakt",), "lpr_kontakter", ("dw_ek_kontakt",)),),
)

LPR_PROCEDURER = Register(
    "lpr_procedurer",
    "LPR3",
    "LPR3 procedurer",
    "LPR3 procedures",
    "Procedures (surgery, treatment, examinations) performed during a contact.",
    (
        Column("dw_ek_kontakt", _I, "Kontaktens nøgle", "Contact key"),
        Column(
            "procedurekode",
            _S,
            "Procedurekode (SKS)",
            "Procedure code (SKS)",
            pattern=r"[A-Z][A-Z0-9]{2,9}",
        ),
        Column("proceduretype", _S, "Proceduretype", "Procedure type", codes="proceduretype"),
        Column("dato_start", _TS, "Tidspunkt for proceduren", "Time of the procedure"),
    ),
    key=("dw_ek_kontakt", "procedurekode"),
    references=(Reference(("dw_ek_kontakt",), "lpr_kontakter", ("dw_ek_kontakt",)),),
    event_date="dato_start",
)

DRG_KONTAKTER = Register(
    "drg_kontakter",
    "DRG",
    "DRG-gruppering af kontakter",
    "DRG grouping of contacts",
    "The DRG group and tariff (takst) of each somatic contact, as grouped by the national DRG "
    "system. Psychiatric contacts are not DRG-grouped.",
    (
        Column("dw_ek_kontakt", _I, "Kontaktens nøgle", "Contact key"),
        Column("drg_kode", _S, "DRG-gruppe", "DRG group", pattern=r"\d{2}[A-Z]{2}\d{2}"),
        Column("takst", _D, "DRG-takst (kr.)", "DRG tariff (DKK)", min_value=0, max_value=5_000_000),
        Column("takst_aar", _I, "Takstår", "Tariff year", min_value=2000, max_value=2100),
    ),
    key=("dw_ek_kontakt",),
    references=(Reference(("dw_ek_kontakt",), "lpr_kontakter", ("dw_ek_kontakt",)),),
)

FAERDIGBEHANDLEDE = Register(
    "faerdigbehandlede",
    "LPR3",
    "Færdigbehandlede patienter",
    "Discharge-ready patients",
    "Periods in which an admitted patient was registered as ready for discharge while waiting "
    "for a municipal offer; the days from fra_dato to til_dato (exclusive) are the "
    "færdigbehandlingsdage the municipality pays for.",
    (
        _pnr(),
        Column("dw_ek_kontakt", _I, "Indlæggelseskontakt", "Admission contact"),
        Column("sektor", _S, "Sektor", "Sector", codes="sektor"),
        Column("fra_dato", _DT, "Færdigbehandlet fra", "Ready for discharge from"),
        Column("til_dato", _DT, "Udskrevet", "Discharged"),
    ),
    key=("dw_ek_kontakt", "fra_dato"),
    references=(
        Reference(("pnr",), "cpr_personer", ("pnr",)),
        Reference(("dw_ek_kontakt",), "lpr_kontakter", ("dw_ek_kontakt",)),
    ),
    event_date="fra_dato",
    ordered=(("fra_dato", "til_dato"),),
)

SSR_YDELSER = Register(
    "ssr_ydelser",
    "SSR",
    "Sygesikringsydelser",
    "Health insurance services",
    "Services from general practitioners, practising specialists and other providers paid by "
    "the regions. Sum ydlant for the number of services; rows are not services.",
    (
        _pnr(),
        Column("ydernr", _S, "Ydernummer", "Provider number", pattern=r"\d{6}"),
        Column(
            "speciale",
            _S,
            "Speciale (2 cifre) og ydelse (4 cifre)",
            "Specialty (2 digits) and service (4 digits)",
            codes="ssr_speciale",
            code_prefix=2,
            pattern=r"\d{6}",
        ),
        Column("ydlant", _I, "Antal ydelser", "Number of services", min_value=-99, max_value=999),
        Column("kontakt", _I, "Antal kontakter", "Number of contacts", min_value=-99, max_value=999),
        Column(
            "bruhon",
            _D,
            "Bruttohonorar (kr.)",
            "Gross fee (DKK)",
            min_value=-100_000,
            max_value=100_000,
        ),
        Column("honuge", _S, "Honoreringsuge (ÅÅUU)", "Settlement week (YYWW)", pattern=r"\d{4}"),
        Column("behandlingsdato", _DT, "Behandlingsdato", "Date of service"),
        Column("sikgrup", _S, "Sikringsgruppe", "Insurance group", codes="sikgrup"),
    ),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    event_date="behandlingsdato",
)

LMS_EKSPEDITIONER = Register(
    "lms_ekspeditioner",
    "LMS",
    "Receptekspeditioner",
    "Prescription redemptions",
    "Prescription medicine sold at pharmacies: ATC code, packages, price and public subsidy.",
    (
        _pnr(),
        Column("eksd", _DT, "Ekspeditionsdato", "Dispensing date"),
        Column(
            "atc",
            _S,
            "ATC-kode",
            "ATC code",
            codes="atc",
            code_prefix=3,
            pattern=r"[A-Z]\d{2}[A-Z]{2}\d{2}",
        ),
        Column("vnr", _S, "Varenummer", "Product number", pattern=r"\d{6}"),
        Column("apk", _I, "Antal pakninger", "Packages", min_value=-99, max_value=999),
        Column(
            "pris",
            _D,
            "Pris inkl. moms (kr.)",
            "Retail price incl. VAT (DKK)",
            min_value=-1_000_000,
            max_value=1_000_000,
        ),
        Column(
            "tilskud",
            _D,
            "Tilskud (kr.)",
            "Public subsidy (DKK)",
            min_value=-1_000_000,
            max_value=1_000_000,
        ),
    ),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    event_date="eksd",
)

DREAM_FORLOEB = Register(
    "dream_forloeb",
    "DREAM",
    "DREAM ydelsesforløb",
    "DREAM benefit spells",
    "DREAM holds one benefit code per person and week; the extract stores runs of equal weeks as "
    "spells (fra_uge to til_uge inclusive, ISO weeks written YYYYWW).",
    (
        _pnr(),
        Column("ydelseskode", _S, "Ydelseskode", "Benefit code", codes="dream_ydelse"),
        Column(
            "fra_uge",
            _I,
            "Første uge (ÅÅÅÅUU)",
            "First week (YYYYWW)",
            min_value=199101,
            max_value=210053,
            iso_week=True,
        ),
        Column(
            "til_uge",
            _I,
            "Sidste uge (ÅÅÅÅUU)",
            "Last week (YYYYWW)",
            min_value=199101,
            max_value=210053,
            iso_week=True,
        ),
    ),
    key=("pnr", "fra_uge"),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    ordered=(("fra_uge", "til_uge"),),
    periods=Periods("pnr", "fra_uge", "til_uge", end_inclusive=True),
)

EOJ_HJEMMEPLEJE = Register(
    "eoj_hjemmepleje",
    "EOJ",
    "Hjemmepleje pr. måned",
    "Home care per month",
    "Assessed (visiterede) and delivered hours of home care per citizen, month and service "
    "group, as reported from the municipal care record.",
    (
        _pnr(),
        Column(
            "kommunekode",
            _S,
            "Leverende kommune",
            "Delivering municipality",
            codes="kommunekode",
            pattern=r"\d{4}",
        ),
        Column("plejedistrikt", _S, "Plejedistrikt", "Care district", pattern=r"\d{4}-\d{2}"),
        Column("maaned", _DT, "Måned (første dag)", "Month (first day)"),
        Column("ydelsesgruppe", _S, "Ydelsesgruppe", "Service group", codes="pleje_ydelsesgruppe"),
        Column("visiterede_timer", _D, "Visiterede timer", "Assessed hours", min_value=0, max_value=744),
        Column("leverede_timer", _D, "Leverede timer", "Delivered hours", min_value=0, max_value=744),
    ),
    key=("pnr", "maaned", "ydelsesgruppe"),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    event_date="maaned",
)

EOJ_PLEJEBOLIG = Register(
    "eoj_plejebolig",
    "EOJ",
    "Plejeboligophold",
    "Nursing-home stays",
    "Periods in a nursing home (plejebolig/plejehjem). An open stay has no til_dato.",
    (
        _pnr(),
        Column("kommunekode", _S, "Kommune", "Municipality", codes="kommunekode", pattern=r"\d{4}"),
        Column("plejedistrikt", _S, "Plejedistrikt", "Care district", pattern=r"\d{4}-\d{2}"),
        Column("fra_dato", _DT, "Indflytning", "Moved in"),
        Column(
            "til_dato",
            _DT,
            "Fraflytning (tom = nuværende)",
            "Moved out (empty = current)",
            required=False,
        ),
    ),
    key=("pnr", "fra_dato"),
    references=(Reference(("pnr",), "cpr_personer", ("pnr",)),),
    event_date="fra_dato",
    ordered=(("fra_dato", "til_dato"),),
    periods=Periods("pnr", "fra_dato", "til_dato"),
)


@dataclass(frozen=True)
class RegisterCatalog:
    registers: tuple[Register, ...]

    def __iter__(self) -> Iterator[Register]:
        return iter(self.registers)

    def __getitem__(self, name: str) -> Register:
        for r in self.registers:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self.registers)
        raise KeyError(f"unknown register {name!r}; known registers: {known}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.registers)

    def by_name(self) -> Mapping[str, Register]:
        return {r.name: r for r in self.registers}


REGISTERS = RegisterCatalog(
    (
        CPR_PERSONER,
        CPR_ADRESSER,
        LPR_FORLOEBSELEMENTER,
        LPR_KONTAKTER,
        LPR_DIAGNOSER,
        LPR_PROCEDURER,
        DRG_KONTAKTER,
        FAERDIGBEHANDLEDE,
        SSR_YDELSER,
        LMS_EKSPEDITIONER,
        DREAM_FORLOEB,
        EOJ_HJEMMEPLEJE,
        EOJ_PLEJEBOLIG,
    )
)

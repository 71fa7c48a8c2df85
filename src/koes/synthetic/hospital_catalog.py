"""What hospitals do, declared as data: reasons for a stay, their mixes, DRG groups and rates.

The hospital generator (:mod:`koes.synthetic.hospital`) reads everything clinical from here:

* ``DRG_GROUPS`` — a small DRG/DAGS-like tariff table (kr. in the first year of the period);
  names follow the MDC + type + number pattern ("05MA01"). Groups and tariffs are the project's
  own approximations of the published ranges [I] (domain-notes §2.3), not the real DRG table.
* ``REASONS`` — why a patient is in hospital: the action diagnoses (SKS, "D" + ICD-10), the
  responsible specialty (which decides somatics vs psychiatry), the course label, the DRG groups,
  the length of stay and the procedures done.
* ``STAY_KINDS`` — the kinds of hospital stay (acute/planned admissions, births, emergency and
  planned outpatient visits, psychiatry) with national rates per 1,000 person-years, relative
  rates by age and sex, the relative risk of chronic conditions, and the mix of reasons by age
  band (``base_mix``) and for stays caused by one of the person's conditions (``condition_mix``).

Rates are calibrated to domain-notes §6 (792,000 admissions and 12.2 M outpatient stays in 2022)
and §1.3 (≈ 72,000 preventable admissions among 1.23 M citizens 65+).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from koes.synthetic.demography import AgeSteps

CONDITIONS: tuple[str, ...] = (
    "diabetes",
    "kol",
    "hjertesvigt",
    "demens",
    "svaer_psykisk_lidelse",
    "kraeft",
    "astma",
)


# --- DRG ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrgGroup:
    code: str
    text: str
    tariff: float  # kr. in the first year of the period; indexed +2 %/year after it


DRG_GROUPS: tuple[DrgGroup, ...] = (
    # Admissions (the ward contact of an admission carries one of these).
    DrgGroup("01MA04", "Apopleksi", 52_000),
    DrgGroup("01MA10", "Andre sygdomme i nervesystemet", 30_000),
    DrgGroup("01MA14", "Demens og delirium", 36_000),
    DrgGroup("03MP06", "Operation på mandler og polypper", 16_000),
    DrgGroup("04MA04", "Lungebetændelse og pleuritis", 35_000),
    DrgGroup("04MA05", "KOL, akut forværring", 32_000),
    DrgGroup("04MA13", "Astma og bronkitis", 18_000),
    DrgGroup("05MA01", "Hjertesvigt og shock", 40_000),
    DrgGroup("05MA03", "Akut myokardieinfarkt", 48_000),
    DrgGroup("05MA08", "Hjerterytmeforstyrrelser", 22_000),
    DrgGroup("05MA11", "Brystsmerter", 15_000),
    DrgGroup("05MP12", "Perkutan koronar intervention (PCI)", 62_000),
    DrgGroup("06MA06", "Gastroenteritis og andre mave-tarmsygdomme", 20_000),
    DrgGroup("06MA11", "Forstoppelse og mavesmerter", 16_000),
    DrgGroup("06MP05", "Appendektomi", 32_000),
    DrgGroup("06MP14", "Større operation på mave-tarmkanalen", 135_000),
    DrgGroup("06MP22", "Brokoperation", 25_000),
    DrgGroup("07MP04", "Laparoskopisk kolecystektomi", 38_000),
    DrgGroup("08MA09", "Brud på skulder, arm og bækken", 22_000),
    DrgGroup("08MP03", "Hoftebrud, operation", 70_000),
    DrgGroup("08MP08", "Primær hoftealloplastik", 60_000),
    DrgGroup("08MP09", "Primær knæalloplastik", 62_000),
    DrgGroup("08MP20", "Rygoperation", 75_000),
    DrgGroup("09MA04", "Hudinfektion og tryksår", 30_000),
    DrgGroup("10MA01", "Diabetes, væske- og elektrolytforstyrrelser", 24_000),
    DrgGroup("11MA07", "Urinvejsinfektion", 22_000),
    DrgGroup("11MP05", "Transuretral prostataoperation", 50_000),
    DrgGroup("13MP01", "Hysterektomi", 48_000),
    DrgGroup("14MA02", "Vaginal fødsel", 25_000),
    DrgGroup("14MP01", "Kejsersnit", 45_000),
    DrgGroup("15MA05", "Nyfødt, observation og gulsot", 18_000),
    DrgGroup("16MA03", "Anæmi og andre blodsygdomme", 20_000),
    DrgGroup("17MA05", "Kræft, medicinsk behandling og komplikationer", 45_000),
    DrgGroup("17MP02", "Kemoterapi under indlæggelse", 28_000),
    DrgGroup("18MA02", "Sepsis", 60_000),
    DrgGroup("21MA04", "Forgiftning og skader", 18_000),
    DrgGroup("23MA02", "Sociale og plejemæssige forhold", 15_000),
    DrgGroup("23MA03", "Symptomer, fund og observation", 15_000),
    DrgGroup("23MA04", "Fortsat indlæggelse efter overflytning", 20_000),
    # Outpatient and emergency groups.
    DrgGroup("30PR02", "Kemoterapi, ambulant", 5_800),
    DrgGroup("30PR06", "Kataraktoperation", 5_500),
    DrgGroup("30PR10", "CT- og MR-skanning", 2_500),
    DrgGroup("30PR12", "Endoskopi", 4_500),
    DrgGroup("31SP01", "Akut ambulant kontakt", 1_800),
    DrgGroup("31SP02", "Akut modtagelse før indlæggelse", 2_600),
    DrgGroup("32SA01", "Ambulant besøg, medicinske specialer", 1_600),
    DrgGroup("32SA02", "Ambulant besøg, kirurgiske specialer", 1_400),
    DrgGroup("32SA03", "Graviditetskontrol", 1_200),
    DrgGroup("32SA04", "Ambulant besøg, børn", 1_500),
    DrgGroup("32SA05", "Ambulant besøg, øvrige specialer", 1_100),
    DrgGroup("32SA06", "Ambulant kontrol af kronisk sygdom", 2_100),
    DrgGroup("32SA07", "Ambulant kræftkontrol", 2_900),
    DrgGroup("33SP01", "Udekontakt (hjemmebesøg)", 900),
    DrgGroup("34VI01", "Virtuel kontakt", 350),
    DrgGroup("34VI02", "Virtuel kontakt, kompleks", 580),
)

DRG_EMERGENCY = "31SP01"  # an emergency visit that does not lead to an admission
DRG_EMERGENCY_BEFORE_ADMISSION = "31SP02"  # the emergency contact that opens an admission
DRG_AFTER_TRANSFER = "23MA04"  # the ward contact at the hospital a patient is transferred to
DRG_VIRTUAL = ("34VI01", "34VI02")
DRG_VIRTUAL_COMPLEX_SHARE = 0.2
DRG_HOME_VISIT = "33SP01"
TARIFF_INDEX_PER_YEAR = 0.02


# --- Reasons -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a patient is in hospital; ``codes`` are drawn with equal probability (repeat a code to
    weight it). A ``person_code`` reason takes the person's own code for that condition (the same
    cancer site or psychiatric diagnosis every time) instead of ``codes``."""

    key: str
    codes: tuple[str, ...]
    specialty: str  # HOVEDSPECIALE code; its sector decides somatics vs psychiatry
    label: str | None = None  # FORLOEBSLABEL; None: AFA06 when acute, AFA00 when planned
    drg_inpatient: str = "23MA03"
    drg_outpatient: str = "32SA05"
    los_days: float = 2.5  # median length of the ward contact when admitted
    procedures: tuple[str, ...] = ()  # candidates for the primary procedure
    outpatient_procedure_share: float = 0.0  # admissions with procedures always carry one
    drg_procedure: str | None = None  # outpatient group when a procedure is done
    person_code: str | None = None  # condition whose person-specific code is the diagnosis
    sex: int | None = None  # 1 men only, 2 women only


_IM, _SURG, _ORTO = "intern_medicin", "kirurgi", "ortopaedisk_kirurgi"
_PSY = "psykiatri"
_SCAN = ("UXCA00", "UXCC00", "UXMA00")  # CT head, CT chest/abdomen, MR head
_ENDOSCOPY = ("KUJF32", "KUJD02")

# One reason per line (or two); the formatter would spread each over ten.
# fmt: off
REASONS: tuple[Reason, ...] = (
    # The nine preventable groups (domain-notes §1.3): acute admissions of the elderly.
    Reason("dehydrering", ("DE869",), _IM, drg_inpatient="10MA01", drg_outpatient="31SP01", los_days=2.5),
    Reason("forstoppelse", ("DK590",), "gastroenterologi", drg_inpatient="06MA11", drg_outpatient="31SP01"),
    Reason("lungebetaendelse", ("DJ189", "DJ189", "DJ159", "DJ181", "DJ129", "DJ22"), "lungesygdomme",
           drg_inpatient="04MA04", drg_outpatient="31SP01", los_days=4.0),
    Reason("bronkitis", ("DJ209", "DJ209", "DJ22"), "lungesygdomme", drg_inpatient="04MA13",
           drg_outpatient="31SP01"),
    Reason("kol_forvaerring", ("DJ441", "DJ441", "DJ449", "DJ440"), "lungesygdomme", label="AFA04",
           drg_inpatient="04MA05", drg_outpatient="32SA06", los_days=4.0),
    Reason("blaerebetaendelse", ("DN390", "DN390", "DN300"), _IM, drg_inpatient="11MA07",
           drg_outpatient="31SP01", los_days=3.0),
    Reason("gastroenteritis", ("DA099", "DK529"), "gastroenterologi", drg_inpatient="06MA06",
           drg_outpatient="31SP01"),
    Reason("hoftebrud", ("DS720", "DS720", "DS721", "DS722"), _ORTO, drg_inpatient="08MP03",
           drg_outpatient="32SA02", los_days=7.0, procedures=("KNFJ51", "KNFJ61", "KNFB02")),
    Reason("andet_brud", ("DS420", "DS422", "DS525", "DS526", "DS320"), _ORTO, drg_inpatient="08MA09",
           drg_outpatient="31SP01", los_days=3.0, procedures=("KNCJ65", "KNBJ61"),
           outpatient_procedure_share=0.3),
    Reason("anaemi", ("DD509", "DD519", "DD529", "DD539"), _IM, drg_inpatient="16MA03", drg_outpatient="32SA01",
           los_days=2.5, procedures=("BOQF1",), outpatient_procedure_share=0.5),
    Reason("sociale_forhold", ("DZ599", "DZ604", "DZ740", "DZ741", "DZ755"), "geriatri", drg_inpatient="23MA02",
           los_days=4.0),
    Reason("tryksaar", ("DL891", "DL892", "DL899"), _SURG, drg_inpatient="09MA04", drg_outpatient="32SA02",
           los_days=8.0),
    # Other acute somatic reasons.
    Reason("hjertesvigt", ("DI500", "DI509", "DI509"), "kardiologi", label="AFA02", drg_inpatient="05MA01",
           drg_outpatient="32SA06", los_days=4.5),
    Reason("ami", ("DI210", "DI214", "DI219"), "kardiologi", label="AFA02", drg_inpatient="05MA03",
           drg_outpatient="32SA01", los_days=3.5, procedures=("KFNG05", "KFNG02")),
    Reason("atrieflimren", ("DI489",), "kardiologi", label="AFA02", drg_inpatient="05MA08",
           drg_outpatient="32SA01", los_days=1.5),
    Reason("brystsmerter", ("DR074", "DR079"), "kardiologi", drg_inpatient="05MA11", drg_outpatient="31SP01",
           los_days=1.3),
    Reason("apopleksi", ("DI639", "DI639", "DI619", "DG459"), "neurologi", drg_inpatient="01MA04",
           los_days=5.0),
    Reason("sepsis", ("DA419", "DA410"), _IM, drg_inpatient="18MA02", los_days=7.0),
    Reason("mavesmerter", ("DR104", "DR109", "DR101"), _SURG, drg_inpatient="06MA11", drg_outpatient="31SP01",
           los_days=1.6),
    Reason("observation", ("DZ039", "DZ039", "DZ038"), _IM, drg_outpatient="31SP01", los_days=1.4),
    Reason("symptomer", ("DR509", "DR559", "DR268", "DR531", "DR060", "DR42"), _IM, drg_outpatient="31SP01",
           los_days=1.5),
    Reason("appendicitis", ("DK359", "DK358"), _SURG, drg_inpatient="06MP05", drg_outpatient="32SA02",
           los_days=1.5, procedures=("KJEA10", "KJEA00")),
    Reason("galdesten", ("DK802", "DK800", "DK810"), _SURG, drg_inpatient="07MP04", drg_outpatient="32SA02",
           procedures=("KJKA21",)),
    Reason("hovedtraume", ("DS060", "DS098", "DS009"), _SURG, drg_inpatient="21MA04", drg_outpatient="31SP01",
           los_days=1.2, procedures=("UXCA00",), outpatient_procedure_share=0.3, drg_procedure="30PR10"),
    Reason("forgiftning", ("DT424", "DT510", "DT398"), _IM, drg_inpatient="21MA04", drg_outpatient="31SP01",
           los_days=1.0),
    Reason("cellulitis", ("DL039", "DL031"), _IM, drg_inpatient="09MA04", drg_outpatient="31SP01",
           los_days=4.0),
    Reason("delirium", ("DF051", "DF059"), "geriatri", drg_inpatient="01MA14", los_days=5.0),
    Reason("astma_anfald", ("DJ459", "DJ46"), "lungesygdomme", label="AFA04", drg_inpatient="04MA13",
           drg_outpatient="32SA06", los_days=1.5),
    Reason("nyfoedt", ("DP599", "DP599", "DP071", "DP221", "DZ380"), "paediatri", drg_inpatient="15MA05",
           drg_outpatient="32SA04"),
    Reason("boern_infektion", ("DJ210", "DJ069", "DB349", "DR509", "DA084", "DR560"), "paediatri",
           drg_inpatient="04MA13", drg_outpatient="31SP01", los_days=1.5),
    Reason("diabetes_dysregulering", (), "endokrinologi", label="AFA03", drg_inpatient="10MA01",
           drg_outpatient="32SA06", los_days=3.0, person_code="diabetes"),
    Reason("kraeft_komplikation", (), "onkologi", label="AFA01", drg_inpatient="17MA05",
           drg_outpatient="32SA07", los_days=5.0, person_code="kraeft"),
    Reason("demens_forvaerring", (), "geriatri", drg_inpatient="01MA14", los_days=6.0, person_code="demens"),
    # Planned admissions.
    Reason("hoftealloplastik", ("DM161", "DM169"), _ORTO, drg_inpatient="08MP08", drg_outpatient="32SA02",
           los_days=1.5, procedures=("KNFB20", "KNFB40")),
    Reason("knaealloplastik", ("DM171", "DM179"), _ORTO, drg_inpatient="08MP09", drg_outpatient="32SA02",
           los_days=1.5, procedures=("KNGB20", "KNGB40")),
    Reason("rygkirurgi", ("DM511", "DM480"), _ORTO, drg_inpatient="08MP20", drg_outpatient="32SA02",
           los_days=3.0, procedures=("KABC16", "KNAG41")),
    Reason("brok", ("DK409", "DK429"), _SURG, drg_inpatient="06MP22", drg_outpatient="32SA02", los_days=0.8,
           procedures=("KJAB10", "KJAB30")),
    Reason("pci", ("DI251", "DI209"), "kardiologi", label="AFA02", drg_inpatient="05MP12",
           drg_outpatient="32SA01", los_days=1.0, procedures=("KFNG05", "KFNG02")),
    Reason("prostataoperation", ("DN409",), "urologi", drg_inpatient="11MP05", procedures=("KKED22",), sex=1),
    Reason("hysterektomi", ("DD259", "DN800"), "gynaekologi_obstetrik", drg_inpatient="13MP01",
           procedures=("KLCD10", "KLCD00"), sex=2),
    Reason("tonsiller", ("DJ350", "DJ351"), "oto_rhino_laryngologi", drg_inpatient="03MP06", los_days=0.8,
           procedures=("KEMB20",)),
    Reason("udredning_indlagt", ("DZ038", "DZ038", "DR688"), _IM, drg_outpatient="32SA01", los_days=1.5,
           procedures=_SCAN),
    Reason("epilepsi", ("DG409",), "neurologi", drg_inpatient="01MA10"),
    Reason("kraeftoperation", (), _SURG, label="AFA01", drg_inpatient="06MP14", drg_outpatient="32SA07",
           los_days=5.0, procedures=("KJFB20",), person_code="kraeft"),
    Reason("kemoterapi", (), "onkologi", label="AFA01", drg_inpatient="17MP02", drg_outpatient="30PR02",
           los_days=1.0, procedures=("BWHA1",), person_code="kraeft"),
    # Births.
    Reason("foedsel", ("DO800", "DO800", "DO800", "DO809", "DO700", "DO701"), "gynaekologi_obstetrik",
           label="AFA05", drg_inpatient="14MA02", drg_outpatient="32SA03", los_days=1.3, sex=2),
    Reason("kejsersnit", ("DO821", "DO829", "DO820"), "gynaekologi_obstetrik", label="AFA05",
           drg_inpatient="14MP01", drg_outpatient="32SA03", los_days=3.0, procedures=("KMCA10",), sex=2),
    # Planned outpatient visits.
    Reason("diabeteskontrol", (), "endokrinologi", label="AFA03", drg_outpatient="32SA06",
           person_code="diabetes"),
    Reason("kol_kontrol", ("DJ449",), "lungesygdomme", label="AFA04", drg_outpatient="32SA06"),
    Reason("hjertekontrol", ("DI509", "DI489", "DI251", "DI110"), "kardiologi", label="AFA02",
           drg_outpatient="32SA01", procedures=("UXUC80",), outpatient_procedure_share=0.3),
    Reason("kraeftkontrol", (), "onkologi", label="AFA01", drg_outpatient="32SA07", procedures=("BWHA1",),
           outpatient_procedure_share=0.4, drg_procedure="30PR02", person_code="kraeft"),
    Reason("graviditet", ("DZ348", "DZ348", "DZ359", "DO268", "DO249"), "gynaekologi_obstetrik", label="AFA05",
           drg_outpatient="32SA03", procedures=("UXUD88",), outpatient_procedure_share=0.4, sex=2),
    Reason("katarakt", ("DH259", "DH251"), "oftalmologi", procedures=("KCJE20",),
           outpatient_procedure_share=0.35, drg_procedure="30PR06"),
    Reason("oejensygdom", ("DH401", "DH353", "DH110", "DH360"), "oftalmologi"),
    Reason("ortopaedisk_kontrol", ("DM179", "DM169", "DM544", "DM751", "DS832"), _ORTO, drg_outpatient="32SA02",
           procedures=("UXRG40",), outpatient_procedure_share=0.2),
    Reason("hudsygdom", ("DL409", "DL209", "DL700", "DL400"), "dermato_venerologi"),
    Reason("oere_naese_hals", ("DH669", "DJ350", "DH903", "DJ343"), "oto_rhino_laryngologi"),
    Reason("urologisk", ("DN409", "DN393", "DR319"), "urologi", procedures=("KKBV02",),
           outpatient_procedure_share=0.2, drg_procedure="30PR12"),
    Reason("gynaekologisk", ("DN951", "DN926", "DN979", "DN870"), "gynaekologi_obstetrik", sex=2),
    Reason("reumatologisk", ("DM059", "DM069", "DM353", "DM797"), "reumatologi", drg_outpatient="32SA01"),
    Reason("mave_tarm", ("DK509", "DK519", "DK219", "DK580"), "gastroenterologi", drg_outpatient="32SA01",
           procedures=_ENDOSCOPY, outpatient_procedure_share=0.3, drg_procedure="30PR12"),
    Reason("neurologisk", ("DG409", "DG439", "DG35", "DG20"), "neurologi", procedures=("UXMA00",),
           outpatient_procedure_share=0.2, drg_procedure="30PR10"),
    Reason("nyresygdom", ("DN184", "DN189"), "nefrologi", drg_outpatient="32SA01", procedures=("BJFD2",),
           outpatient_procedure_share=0.3),
    Reason("boern_ambulant", ("DR629", "DZ001", "DE669", "DK590", "DR104", "DF988"), "paediatri",
           drg_outpatient="32SA04"),
    Reason("udredning", ("DZ038", "DZ039", "DZ031"), _IM, drg_outpatient="32SA01", procedures=_SCAN,
           outpatient_procedure_share=0.4, drg_procedure="30PR10"),
    Reason("symptomudredning", ("DR104", "DR074", "DR109", "DR42", "DR51", "DR529", "DR600"), _IM,
           drg_outpatient="32SA01", procedures=_SCAN, outpatient_procedure_share=0.3, drg_procedure="30PR10"),
    Reason("astmakontrol", ("DJ459",), "lungesygdomme", label="AFA04", drg_outpatient="32SA06"),
    Reason("demensudredning", (), "geriatri", procedures=("UXMA00",), outpatient_procedure_share=0.2,
           drg_procedure="30PR10", person_code="demens"),
    # Emergency visits that do not lead to an admission.
    Reason("let_skade", ("DS934", "DS611", "DS019", "DS009", "DS800", "DS832", "DS610"), _ORTO,
           drg_outpatient="31SP01", procedures=("UXRG40",), outpatient_procedure_share=0.3),
    Reason("brud_ambulant", ("DS525", "DS526", "DS422", "DS620", "DS822"), _ORTO, drg_outpatient="31SP01",
           procedures=("UXRG40",), outpatient_procedure_share=0.7),
    Reason("akut_infektion", ("DN390", "DL039", "DJ069", "DA099", "DJ029", "DH669"), _IM,
           drg_outpatient="31SP01"),
    Reason("akutte_symptomer", ("DR074", "DR104", "DR509", "DR51", "DR42", "DR060", "DR559"), _IM,
           drg_outpatient="31SP01"),
    Reason("akut_observation", ("DZ039", "DZ038", "DZ033"), _IM, drg_outpatient="31SP01"),
    Reason("boern_akut", ("DJ069", "DR509", "DA099", "DS009", "DH669", "DR560"), "paediatri",
           drg_outpatient="31SP01"),
    # Psychiatry (no DRG: psychiatry is paid by bed-day and visit rates).
    Reason("svaer_psykisk_lidelse", (), _PSY, label="AFA10", los_days=14.0,
           person_code="svaer_psykisk_lidelse"),
    Reason("psykose", ("DF209", "DF239", "DF29"), _PSY, label="AFA10", los_days=14.0),
    Reason("depression", ("DF321", "DF322", "DF329", "DF331", "DF332"), _PSY, label="AFA10", los_days=12.0),
    Reason("angst_belastning", ("DF431", "DF432", "DF419", "DF410", "DF430"), _PSY, label="AFA10",
           los_days=7.0),
    Reason("alkohol", ("DF102", "DF103", "DF100"), _PSY, label="AFA10", los_days=6.0),
    Reason("personlighedsforstyrrelse", ("DF603", "DF609"), _PSY, label="AFA10", los_days=8.0),
    Reason("spiseforstyrrelse", ("DF500", "DF502"), _PSY, label="AFA10", los_days=25.0, sex=2),
    Reason("adhd", ("DF900", "DF909", "DF988"), _PSY, label="AFA10", los_days=7.0),
    Reason("autisme", ("DF840", "DF845", "DF849"), _PSY, label="AFA10", los_days=10.0),
    Reason("gerontopsykiatri", ("DF039", "DF051", "DF009", "DF323"), _PSY, label="AFA10", los_days=18.0),
    Reason("psykiatrisk_observation", ("DZ032", "DZ032", "DF99"), _PSY, label="AFA10", los_days=3.0),
)
# fmt: on

# Person-specific codes: a person keeps the same code for a condition in every contact.
PERSON_CODES: Mapping[str, tuple[tuple[str, float, float], ...]] = {
    # condition: (code, weight for men, weight for women)
    "diabetes": (("DE119", 0.9, 0.9), ("DE109", 0.1, 0.1)),
    "kol": (("DJ449", 1.0, 1.0),),
    "hjertesvigt": (("DI509", 0.7, 0.7), ("DI500", 0.3, 0.3)),
    "demens": (("DF039", 0.5, 0.5), ("DG309", 0.35, 0.35), ("DF019", 0.15, 0.15)),
    "svaer_psykisk_lidelse": (
        ("DF209", 0.3, 0.2),
        ("DF200", 0.1, 0.05),
        ("DF319", 0.15, 0.2),
        ("DF332", 0.2, 0.25),
        ("DF251", 0.1, 0.1),
        ("DF603", 0.15, 0.2),
    ),
    "kraeft": (
        ("DC509", 0.0, 0.3),
        ("DC619", 0.3, 0.0),
        ("DC189", 0.15, 0.12),
        ("DC349", 0.15, 0.13),
        ("DC439", 0.08, 0.09),
        ("DC679", 0.07, 0.03),
        ("DC259", 0.05, 0.05),
        ("DC859", 0.06, 0.05),
        ("DC649", 0.06, 0.03),
        ("DC541", 0.0, 0.05),
        ("DC209", 0.08, 0.05),
    ),
    "astma": (("DJ459", 1.0, 1.0),),
}

# Surgery for a cancer site (overrides the generic procedure of the "kraeftoperation" reason).
CANCER_SURGERY: Mapping[str, str] = {
    "DC509": "KHAC10",
    "DC619": "KKEC00",
    "DC189": "KJFB20",
    "DC349": "KGDA40",
    "DC439": "KQDB10",
    "DC679": "KKCD00",
    "DC259": "KJLC10",
    "DC859": "KPJD40",
    "DC649": "KKAC00",
    "DC541": "KLCD00",
    "DC209": "KJGB00",
}

# Secondary diagnoses that are not one of the tracked chronic conditions.
OTHER_SECONDARY_CODES_CHILD: tuple[str, ...] = ("DJ304", "DL209", "DR629", "DE669", "DH669")
OTHER_SECONDARY_CODES_ADULT: tuple[str, ...] = (
    "DI109",
    "DI109",
    "DE669",
    "DE785",
    "DF171",
    "DK219",
    "DM819",
    "DZ921",
    "DI489",
    "DN189",
)
SECONDARY_ADULT_FROM = 18
DISPROVED_SHARE = 0.01  # secondary diagnoses later disproved (senere_afkraeftet = "Ja")

# Additional procedure codes (tillægskoder and supplementary procedures).
PROCEDURE_ADDONS: tuple[str, ...] = ("TUL1", "TUL2", "NAAC20", "ZZ0149", "BWGC1", "UXRC00")


# --- Stay kinds ----------------------------------------------------------------------------------


class Setting(StrEnum):
    ADMISSION = "indlaeggelse"
    OUTPATIENT = "ambulant"


# Age bands of the reason mixes: weights[i] applies from MIX_AGES[i] up.
MIX_AGES: tuple[int, ...] = (0, 1, 5, 18, 45, 65, 80)
MixRow = tuple[str, tuple[float, ...]]  # reason key, weight per MIX_AGES band
ConditionMix = tuple[tuple[str, float], ...]  # reason key, weight


@dataclass(frozen=True)
class StayKind:
    key: str
    setting: Setting
    sector: str
    acute_share: float  # share of stays with priority ATA1
    per_1000: float  # national rate per 1,000 person-years (before readmissions)
    male: AgeSteps  # relative rate by age; the level follows from per_1000
    female: AgeSteps
    base_mix: tuple[MixRow, ...]
    condition_rr: Mapping[str, float] = field(default_factory=dict)
    condition_mix: Mapping[str, ConditionMix] = field(default_factory=dict)
    frailty_power: float = 1.0  # how strongly individual frailty drives use
    # Gamma shape of a person's own lasting tendency to use this kind of care (0: none); smaller
    # is more uneven, so fewer persons have many of the visits.
    habit_shape: float = 0.0
    los_sigma: float = 0.9  # lognormal spread of the length of stay
    patients_only: bool = False  # only the period's psychiatric patients have stays of this kind


_AGES = (0, 1, 5, 15, 25, 35, 45, 55, 65, 75, 80, 85, 90)
_PSY_AGES = (0, 3, 6, 10, 13, 18, 25, 35, 45, 55, 65, 75, 85)

SOMATIC_ACUTE_ADMISSION = StayKind(
    "somatik_akut_indlaeggelse",
    Setting.ADMISSION,
    "somatik",
    acute_share=1.0,
    per_1000=68.0,
    male=AgeSteps(_AGES, (3.0, 0.8, 0.4, 0.5, 0.5, 0.6, 0.8, 1.2, 2.0, 3.3, 4.5, 5.8, 6.8)),
    female=AgeSteps(_AGES, (2.5, 0.7, 0.35, 0.55, 0.55, 0.6, 0.75, 1.0, 1.7, 2.9, 4.1, 5.4, 6.4)),
    base_mix=(
        ("nyfoedt", (60, 0, 0, 0, 0, 0, 0)),
        ("boern_infektion", (25, 45, 30, 0, 0, 0, 0)),
        ("astma_anfald", (0, 8, 8, 3, 2, 0, 0)),
        ("appendicitis", (0, 1, 12, 8, 4, 1, 0.5)),
        ("mavesmerter", (0, 1.2, 4, 5, 4, 2.5, 2)),
        ("brystsmerter", (0, 0, 0, 2, 4, 2.5, 1.2)),
        ("observation", (4, 5, 5, 4, 3.5, 2, 1.5)),
        ("symptomer", (2, 3.5, 3.5, 3.5, 3.5, 2.5, 2)),
        ("hovedtraume", (0, 8, 8, 6, 3, 2, 3)),
        ("forgiftning", (0, 3, 3, 10, 4, 1, 0.5)),
        ("ami", (0, 0, 0, 0.5, 5, 6, 5)),
        ("hjertesvigt", (0, 0, 0, 0, 1, 3, 4)),
        ("atrieflimren", (0, 0, 0, 1, 4, 5, 4)),
        ("apopleksi", (0, 0, 0, 0.5, 4, 6, 6)),
        ("sepsis", (0, 0, 0, 1, 2, 4, 5)),
        ("galdesten", (0, 0, 0, 5, 5, 3, 2)),
        ("cellulitis", (0, 1, 2, 3, 3, 3, 3)),
        ("delirium", (0, 0, 0, 0, 0, 1, 3)),
        ("dehydrering", (0, 2, 1, 1, 1, 1.01, 1.24)),
        ("forstoppelse", (0, 0, 1, 1, 1, 1.24, 1.24)),
        ("lungebetaendelse", (0, 3, 2, 3, 5, 2.94, 2.94)),
        ("bronkitis", (0, 3, 2, 1, 1, 0.5, 0.5)),
        ("blaerebetaendelse", (0, 1, 1, 1, 2, 1.24, 1.66)),
        ("gastroenteritis", (0, 6, 4, 2, 2, 1.84, 1.38)),
        ("hoftebrud", (0, 0, 0, 0, 0.3, 1.66, 2.94)),
        ("andet_brud", (0, 2, 6, 5, 3, 2.07, 2.07)),
        ("anaemi", (0, 0, 0, 0.5, 1, 1.38, 0.92)),
        ("sociale_forhold", (0, 0, 0, 0, 0.3, 0.92, 1.38)),
        ("tryksaar", (0, 0, 0, 0, 0, 0.46, 0.92)),
    ),
    condition_rr={
        "diabetes": 1.5,
        "kol": 2.0,
        "hjertesvigt": 2.5,
        "demens": 2.0,
        "svaer_psykisk_lidelse": 1.4,
        "kraeft": 2.0,
        "astma": 1.3,
    },
    condition_mix={
        "diabetes": (
            ("diabetes_dysregulering", 0.35),
            ("cellulitis", 0.2),
            ("dehydrering", 0.1),
            ("blaerebetaendelse", 0.1),
            ("ami", 0.1),
            ("observation", 0.07),
        ),
        "kol": (
            ("kol_forvaerring", 0.3),
            ("lungebetaendelse", 0.15),
            ("hjertesvigt", 0.1),
            ("atrieflimren", 0.1),
            ("symptomer", 0.05),
            ("observation", 0.1),
        ),
        "hjertesvigt": (
            ("hjertesvigt", 0.6),
            ("atrieflimren", 0.15),
            ("ami", 0.05),
            ("lungebetaendelse", 0.1),
            ("dehydrering", 0.05),
            ("brystsmerter", 0.05),
        ),
        "demens": (
            ("dehydrering", 0.1),
            ("blaerebetaendelse", 0.1),
            ("hoftebrud", 0.15),
            ("andet_brud", 0.05),
            ("sociale_forhold", 0.1),
            ("lungebetaendelse", 0.1),
            ("delirium", 0.2),
            ("demens_forvaerring", 0.1),
            ("observation", 0.05),
            ("tryksaar", 0.05),
        ),
        "kraeft": (
            ("kraeft_komplikation", 0.5),
            ("sepsis", 0.15),
            ("lungebetaendelse", 0.1),
            ("dehydrering", 0.05),
            ("observation", 0.1),
        ),
        "svaer_psykisk_lidelse": (
            ("forgiftning", 0.4),
            ("symptomer", 0.15),
            ("observation", 0.15),
        ),
        "astma": (("astma_anfald", 0.7), ("lungebetaendelse", 0.3)),
    },
    frailty_power=1.0,
    los_sigma=1.05,
)

SOMATIC_PLANNED_ADMISSION = StayKind(
    "somatik_planlagt_indlaeggelse",
    Setting.ADMISSION,
    "somatik",
    acute_share=0.0,
    per_1000=41.0,
    male=AgeSteps(_AGES, (0.6, 0.4, 0.4, 0.4, 0.4, 0.6, 0.9, 1.3, 2.0, 2.3, 2.0, 1.5, 1.0)),
    female=AgeSteps(_AGES, (0.5, 0.35, 0.35, 0.45, 0.6, 0.8, 1.0, 1.3, 1.9, 2.1, 1.8, 1.3, 0.9)),
    base_mix=(
        ("hoftealloplastik", (0, 0, 0, 0, 3, 12, 8)),
        ("knaealloplastik", (0, 0, 0, 0, 4, 12, 5)),
        ("rygkirurgi", (0, 0, 0, 3, 8, 5, 2)),
        ("brok", (3, 2, 2, 4, 6, 5, 3)),
        ("galdesten", (0, 0, 0, 6, 7, 4, 2)),
        ("pci", (0, 0, 0, 0, 4, 7, 4)),
        ("prostataoperation", (0, 0, 0, 0, 2, 6, 5)),
        ("hysterektomi", (0, 0, 0, 3, 8, 3, 1)),
        ("tonsiller", (0, 5, 10, 3, 0.5, 0, 0)),
        ("udredning_indlagt", (6, 6, 6, 4, 4, 3.5, 3.5)),
        ("epilepsi", (5, 10, 10, 5, 3, 2, 1)),
    ),
    condition_rr={"kraeft": 4.0, "hjertesvigt": 1.8, "diabetes": 1.3, "kol": 1.3},
    condition_mix={
        "kraeft": (("kraeftoperation", 0.45), ("kemoterapi", 0.55)),
        "hjertesvigt": (("pci", 0.6), ("udredning_indlagt", 0.4)),
        "diabetes": (("udredning_indlagt", 0.6), ("pci", 0.4)),
        "kol": (("udredning_indlagt", 1.0),),
    },
    frailty_power=0.6,
    los_sigma=0.8,
)

BIRTH = StayKind(
    "foedsel",
    Setting.ADMISSION,
    "somatik",
    acute_share=0.85,
    per_1000=9.8,  # DST: ≈ 58,000 births a year
    male=AgeSteps((0,), (0.0,)),
    female=AgeSteps((0, 15, 20, 25, 30, 35, 40, 45), (0, 0.05, 0.6, 2.5, 3.3, 1.6, 0.35, 0.0)),
    base_mix=(("foedsel", (1, 1, 1, 78, 78, 1, 1)), ("kejsersnit", (1, 1, 1, 22, 22, 1, 1))),
    frailty_power=0.0,
    los_sigma=0.6,
)

SOMATIC_ACUTE_OUTPATIENT = StayKind(
    "somatik_akut_ambulant",
    Setting.OUTPATIENT,
    "somatik",
    acute_share=1.0,
    per_1000=290.0,
    male=AgeSteps(_AGES, (2.2, 1.6, 1.0, 1.2, 1.1, 0.9, 0.9, 1.0, 1.2, 1.6, 2.0, 2.4, 2.6)),
    female=AgeSteps(_AGES, (2.0, 1.4, 0.9, 1.1, 1.0, 0.9, 0.9, 1.0, 1.2, 1.6, 2.0, 2.4, 2.6)),
    base_mix=(
        ("let_skade", (10, 30, 40, 35, 25, 15, 12)),
        ("brud_ambulant", (1, 5, 12, 8, 6, 8, 10)),
        ("akut_infektion", (10, 15, 10, 10, 10, 12, 14)),
        ("akutte_symptomer", (16, 16, 16, 32, 40, 40, 36)),
        ("akut_observation", (16, 16, 13, 16, 16, 16, 16)),
        ("forgiftning", (0, 3, 2, 4, 2, 1, 1)),
        ("boern_akut", (40, 35, 20, 0, 0, 0, 0)),
        ("hovedtraume", (5, 10, 8, 5, 3, 3, 5)),
    ),
    condition_rr={
        "kol": 1.5,
        "hjertesvigt": 1.5,
        "demens": 1.5,
        "svaer_psykisk_lidelse": 1.6,
        "diabetes": 1.2,
        "kraeft": 1.3,
        "astma": 1.2,
    },
    condition_mix={
        "kol": (("kol_forvaerring", 1.0),),
        "hjertesvigt": (("hjertesvigt", 0.7), ("atrieflimren", 0.3)),
        "demens": (("andet_brud", 0.3), ("blaerebetaendelse", 0.3), ("let_skade", 0.4)),
        "svaer_psykisk_lidelse": (("forgiftning", 0.5), ("akutte_symptomer", 0.5)),
        "diabetes": (("diabetes_dysregulering", 1.0),),
        "kraeft": (("kraeft_komplikation", 1.0),),
        "astma": (("astma_anfald", 1.0),),
    },
    frailty_power=0.8,
    habit_shape=1.0,
)

SOMATIC_PLANNED_OUTPATIENT = StayKind(
    "somatik_planlagt_ambulant",
    Setting.OUTPATIENT,
    "somatik",
    acute_share=0.0,
    per_1000=1575.0,
    male=AgeSteps(
        (0, 1, 5, 15, 20, 25, 35, 45, 55, 65, 75, 80, 85, 90),
        (1.3, 0.55, 0.45, 0.5, 0.5, 0.55, 0.7, 0.95, 1.3, 1.8, 2.1, 2.0, 1.7, 1.3),
    ),
    # Women 20–44: pregnancy controls.
    female=AgeSteps(
        (0, 1, 5, 15, 20, 25, 35, 45, 55, 65, 75, 80, 85, 90),
        (1.2, 0.5, 0.45, 0.6, 0.9, 1.3, 1.35, 1.1, 1.35, 1.75, 2.0, 1.9, 1.6, 1.2),
    ),
    base_mix=(
        ("graviditet", (0, 0, 0, 30, 2, 0, 0)),
        ("katarakt", (0, 0, 0, 0, 2, 12, 14)),
        ("oejensygdom", (2, 5, 8, 5, 6, 8, 8)),
        ("ortopaedisk_kontrol", (3, 5, 12, 14, 14, 10, 7)),
        ("hudsygdom", (3, 5, 6, 7, 6, 5, 4)),
        ("oere_naese_hals", (5, 10, 10, 5, 5, 5, 5)),
        ("urologisk", (1, 2, 2, 2, 5, 8, 8)),
        ("gynaekologisk", (0, 0, 1, 12, 10, 3, 1)),
        ("reumatologisk", (0, 0, 1, 3, 6, 6, 4)),
        ("mave_tarm", (1, 2, 4, 6, 7, 6, 4)),
        ("neurologisk", (2, 4, 5, 5, 6, 5, 4)),
        ("nyresygdom", (0, 0, 0, 1, 2, 3, 3)),
        ("boern_ambulant", (60, 40, 25, 0, 0, 0, 0)),
        ("udredning", (16, 16, 16, 16, 16, 16, 16)),
        ("symptomudredning", (8, 16, 16, 24, 24, 20, 16)),
        ("hjertekontrol", (2, 1, 1, 1, 4, 8, 8)),
        ("astmakontrol", (0, 4, 4, 1, 1, 1, 0)),
    ),
    condition_rr={
        "diabetes": 2.5,
        "kol": 2.0,
        "hjertesvigt": 2.5,
        "kraeft": 4.0,
        "astma": 1.5,
        "svaer_psykisk_lidelse": 1.2,
        "demens": 1.3,
    },
    condition_mix={
        "diabetes": (("diabeteskontrol", 0.8), ("oejensygdom", 0.1), ("nyresygdom", 0.1)),
        "kol": (("kol_kontrol", 1.0),),
        "hjertesvigt": (("hjertekontrol", 1.0),),
        "kraeft": (("kraeftkontrol", 1.0),),
        "demens": (("demensudredning", 1.0),),
        "svaer_psykisk_lidelse": (("symptomudredning", 1.0),),
        "astma": (("astmakontrol", 1.0),),
    },
    frailty_power=0.8,
    habit_shape=0.45,
)

_PSYCH_BASE_ADMISSION: tuple[MixRow, ...] = (
    ("depression", (0, 0, 15, 25, 30, 30, 25)),
    ("angst_belastning", (0, 0, 20, 25, 20, 10, 5)),
    ("alkohol", (0, 0, 1, 15, 20, 10, 3)),
    ("personlighedsforstyrrelse", (0, 0, 5, 12, 5, 1, 0)),
    ("spiseforstyrrelse", (0, 0, 15, 3, 0, 0, 0)),
    ("adhd", (0, 0, 10, 2, 0, 0, 0)),
    ("autisme", (0, 0, 10, 2, 0, 0, 0)),
    ("psykose", (0, 0, 3, 10, 10, 5, 3)),
    ("gerontopsykiatri", (0, 0, 0, 0, 0, 10, 20)),
    ("psykiatrisk_observation", (0, 0, 10, 10, 10, 10, 10)),
)

PSYCH_ADMISSION = StayKind(
    "psykiatrisk_indlaeggelse",
    Setting.ADMISSION,
    "psykiatri",
    acute_share=0.7,
    per_1000=6.6,  # with readmissions ≈ 47,000 admissions a year (SDS 2017)
    male=AgeSteps(_PSY_AGES, (0, 0, 0, 0.1, 0.8, 1.6, 1.5, 1.3, 1.1, 0.9, 0.6, 0.6, 0.5)),
    female=AgeSteps(_PSY_AGES, (0, 0, 0, 0.15, 1.0, 1.6, 1.4, 1.2, 1.0, 0.8, 0.6, 0.6, 0.5)),
    base_mix=_PSYCH_BASE_ADMISSION,
    condition_rr={"svaer_psykisk_lidelse": 4.0, "demens": 1.5},
    condition_mix={
        "svaer_psykisk_lidelse": (("svaer_psykisk_lidelse", 1.0),),
        "demens": (("gerontopsykiatri", 1.0),),
    },
    frailty_power=0.8,
    los_sigma=0.95,
    patients_only=True,
)

PSYCH_OUTPATIENT = StayKind(
    "psykiatrisk_ambulant",
    Setting.OUTPATIENT,
    "psykiatri",
    acute_share=0.12,
    per_1000=200.0,
    male=AgeSteps(_PSY_AGES, (0, 0.3, 1.1, 1.7, 2.0, 1.7, 1.4, 1.2, 1.0, 0.7, 0.4, 0.3, 0.2)),
    female=AgeSteps(_PSY_AGES, (0, 0.2, 0.7, 1.3, 2.4, 2.0, 1.6, 1.3, 1.0, 0.7, 0.4, 0.3, 0.2)),
    base_mix=(
        ("depression", (0, 0, 15, 25, 30, 30, 25)),
        ("angst_belastning", (0, 0, 20, 30, 20, 10, 5)),
        ("alkohol", (0, 0, 0, 8, 12, 6, 2)),
        ("personlighedsforstyrrelse", (0, 0, 3, 10, 5, 1, 0)),
        ("spiseforstyrrelse", (0, 0, 8, 3, 0, 0, 0)),
        ("adhd", (0, 5, 35, 8, 2, 0, 0)),
        ("autisme", (0, 10, 25, 4, 1, 0, 0)),
        ("psykose", (0, 0, 2, 6, 6, 3, 2)),
        ("gerontopsykiatri", (0, 0, 0, 0, 0, 10, 20)),
        ("psykiatrisk_observation", (0, 5, 8, 6, 5, 5, 5)),
    ),
    condition_rr={"svaer_psykisk_lidelse": 3.0, "demens": 1.5},
    condition_mix={
        "svaer_psykisk_lidelse": (("svaer_psykisk_lidelse", 1.0),),
        "demens": (("gerontopsykiatri", 1.0),),
    },
    frailty_power=0.6,
    habit_shape=1.0,
    patients_only=True,
)

# Psychiatric patients: the persons treated in psychiatric hospitals during the period, by age
# (Psykiatrifonden 2023: ≈ 150,000 a year, 2.5 % of citizens, half of them before 35), far more
# often those with a severe mental illness. Only they have psychiatric stays, so admissions and
# outpatient visits fall on the same persons, about eight visits each a year.
PSYCHIATRIC_PATIENT_SHARE = AgeSteps(
    (0, 6, 13, 18, 25, 35, 45, 55, 65, 75),
    (0.002, 0.030, 0.053, 0.059, 0.047, 0.035, 0.029, 0.021, 0.012, 0.010),
)
PSYCHIATRIC_PATIENT_SMI_RR = 20.0

STAY_KINDS: tuple[StayKind, ...] = (
    SOMATIC_ACUTE_ADMISSION,
    SOMATIC_PLANNED_ADMISSION,
    BIRTH,
    PSYCH_ADMISSION,
    SOMATIC_ACUTE_OUTPATIENT,
    SOMATIC_PLANNED_OUTPATIENT,
    PSYCH_OUTPATIENT,
)

# Use near the end of life: persons who die in the period use acute care more, and about 45 %
# of deaths happen during a hospital admission (the terminal admission ends on the death day).
DYING_RR = 1.5
TERMINAL_ADMISSION_SHARE = 0.45
TERMINAL_LOS_DAYS = 4.0

# 30-day acute readmissions: chance that an admission is followed by an acute admission of the
# same person within 30 days, on top of those that happen by chance among frequent users.
READMISSION_SOMATIC = 0.045
READMISSION_OLD_RR = 1.5  # 65+
READMISSION_CHRONIC_RR = 1.5  # heart failure or COPD
READMISSION_PSYCHIATRIC = 0.18
READMISSION_SAME_REASON = 0.5
READMISSION_WITHIN_DAYS = 30

# Virtual contacts (ALCA03) follow up planned outpatient visits; home visits (ALCA10) are a
# share of planned psychiatric (outreach teams) and geriatric outpatient visits.
VIRTUAL_FOLLOW_UP_SHARE = 0.27
HOME_VISIT_SHARE_PSYCHIATRY = 0.04
HOME_VISIT_SHARE_GERIATRIC = 0.01  # planned visits of persons from HOME_VISIT_GERIATRIC_FROM
HOME_VISIT_GERIATRIC_FROM = 80

# Discharge-ready periods (færdigbehandlede): share of admissions that end with one.
DISCHARGE_READY_SOMATIC_65 = 0.03  # somatic admissions of persons 65+, before dementia/frailty
DISCHARGE_READY_DEMENTIA_RR = 2.5
DISCHARGE_READY_MEAN_DAYS = 3.0
DISCHARGE_READY_MAX_DAYS = 20
# Psychiatry: few admissions end with discharge-ready days, but those wait long (SDS 2019, for
# 2017: 626 of 47,000 admissions, 37.8 days on average, 23,700 days in all).
DISCHARGE_READY_PSYCHIATRIC = 0.0143
DISCHARGE_READY_PSYCHIATRIC_MEAN_DAYS = 38.0
DISCHARGE_READY_PSYCHIATRIC_MAX_DAYS = 365

TRANSFER_SHARE = 0.05  # somatic admissions that include a transfer within the region
EMERGENCY_FIRST_SHARE = 0.8  # acute somatic admissions that start in the emergency department
PSYCH_EMERGENCY_FIRST_SHARE = 0.5
EMERGENCY_TWO_CONTACT_SHARE = 0.1  # emergency visits that continue in a specialty clinic
HOSPITAL_OUTSIDE_REGION_SHARE = 0.05
HOSPITAL_USUAL_SHARE = 0.7  # stays at the person's usual hospital for the municipality

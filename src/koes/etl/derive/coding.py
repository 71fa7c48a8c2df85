"""Small integer codes: every code column of a release is a DuckDB ``ENUM`` over a declared domain.

An ENUM value is stored as a 1-, 2- or 4-byte index into its domain, so facts keep codes as small
integers while every reader still sees (and filters, joins and groups by) the code text; the
domain's labels stay in the dimension tables (``code_*``, ``dim_*``). Sorting, hashing and
writing a fact table with integer codes instead of strings is what makes them cheap: at national
scale the health-insurance services sort and write in 45 s instead of 77 s, and their Parquet
copy (where ENUMs become dictionary-encoded strings, so Spark or PostgreSQL read plain text) in
15 s instead of 34 s.

Each domain is declared here with the query that lists its values: a code list, a rule table, a
declared vocabulary, or — for open identifiers such as provider and drug numbers, which have no
code list — the values the extracts hold. The values are sorted, so ordering by a code orders as
its text does. A derivation writes ``coded("sector", expr)``, or joins ``lookup("atc")`` for the
large facts; the type lives in the release file, where readers find it in ``duckdb_types()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from koes.domain.chronic import CHRONIC_CONDITIONS
from koes.domain.preventable import PREVENTABLE_GROUPS
from koes.etl.sql import lit

PATIENT_TYPES = ("indlagt", "akut", "ambulant")


@dataclass(frozen=True)
class CodeDomain:
    name: str
    values: str  # SQL selecting one column ``v``: the domain's values (NULLs and duplicates are dropped)
    about: str


def type_name(domain: str) -> str:
    return f"enum_{domain}"


def _listed(values: tuple[str, ...] | list[str]) -> str:
    return "SELECT v FROM (VALUES " + ", ".join(f"({lit(v)})" for v in values) + ") t(v)"


def _prefixes(domain: str, length: int) -> str:
    return f"SELECT left(unnest(enum_range(NULL::{type_name(domain)})), {length}) AS v"


CODE_DOMAINS: tuple[CodeDomain, ...] = (
    CodeDomain("sector", "SELECT code AS v FROM code_sektor", "somatik or psykiatri (code list sektor)"),
    CodeDomain("kont_type", "SELECT code AS v FROM code_kont_type", "LPR contact type"),
    CodeDomain("hovedspeciale", "SELECT code AS v FROM code_hovedspeciale", "responsible hospital specialty"),
    CodeDomain(
        "hospital",
        "SELECT kont_ans_inst AS v FROM valid_lpr_kontakter "
        "UNION ALL SELECT ansvarlig_inst FROM valid_lpr_forloebselementer",
        "hospital (SKS institution) codes in the extracts",
    ),
    CodeDomain(
        "diagnosis",
        "SELECT adiag AS v FROM valid_lpr_kontakter UNION ALL SELECT diag_kode FROM valid_lpr_diagnoser",
        "full SKS diagnosis codes in the extracts (checked on their first four characters)",
    ),
    CodeDomain("diag_category", _prefixes("diagnosis", 4), "ICD-10 category: the first four characters"),
    CodeDomain("diag_type", "SELECT code AS v FROM code_diag_kode_type", "action or secondary diagnosis"),
    CodeDomain(
        "procedure", "SELECT procedurekode AS v FROM valid_lpr_procedurer", "SKS procedure codes in the extracts"
    ),
    CodeDomain("procedure_type", "SELECT code AS v FROM code_proceduretype", "primary or additional procedure"),
    CodeDomain("course_label", "SELECT code AS v FROM code_forloebslabel", "LPR course label"),
    CodeDomain("drg", "SELECT drg_kode AS v FROM valid_drg_kontakter", "DRG groups in the extracts"),
    CodeDomain("patient_type", _listed(PATIENT_TYPES), "inpatient, emergency or outpatient stay"),
    CodeDomain("kmf_basis", "SELECT basis AS v FROM rule_cofinancing", "co-financing basis (actual or shadow)"),
    CodeDomain("preventable_group", _listed([g.id for g in PREVENTABLE_GROUPS]), "group of a preventable admission"),
    CodeDomain("ssr_speciale", "SELECT code AS v FROM code_ssr_speciale", "health-insurance specialty"),
    CodeDomain("ssr_ydelse", "SELECT right(speciale, 4) AS v FROM valid_ssr_ydelser", "health-insurance service code"),
    CodeDomain("provider_group", 'SELECT "group" AS v FROM code_ssr_speciale', "GP, specialist or other provider"),
    CodeDomain(
        "kmf_sector",
        'SELECT code AS v FROM code_sektor UNION ALL SELECT "group" FROM code_ssr_speciale',
        "who co-finances: a hospital sector or a health-insurance provider group",
    ),
    CodeDomain("ydernr", "SELECT ydernr AS v FROM valid_ssr_ydelser", "provider numbers in the extracts"),
    CodeDomain("sikgrup", "SELECT code AS v FROM code_sikgrup", "health-insurance group"),
    CodeDomain("atc", "SELECT atc AS v FROM valid_lms_ekspeditioner", "ATC codes in the extracts"),
    CodeDomain("atc1", _prefixes("atc", 1), "ATC level 1 (anatomical main group)"),
    CodeDomain("atc2", _prefixes("atc", 3), "ATC level 2 (therapeutic subgroup)"),
    CodeDomain("atc3", _prefixes("atc", 4), "ATC level 3 (pharmacological subgroup)"),
    CodeDomain("vnr", "SELECT vnr AS v FROM valid_lms_ekspeditioner", "drug package numbers in the extracts"),
    CodeDomain("benefit_type", "SELECT code AS v FROM code_benefit_type", "benefit type (DREAM grouping)"),
    CodeDomain("dream_ydelse", "SELECT code AS v FROM code_dream_ydelse", "DREAM benefit code"),
    CodeDomain("care_service_group", "SELECT code AS v FROM code_pleje_ydelsesgruppe", "home-care service group"),
    CodeDomain(
        "care_district",
        "SELECT plejedistrikt AS v FROM valid_eoj_hjemmepleje UNION ALL SELECT plejedistrikt FROM valid_eoj_plejebolig",
        "care districts in the extracts",
    ),
    CodeDomain("cpr_status", "SELECT code AS v FROM code_cpr_status", "CPR status"),
    CodeDomain("condition", _listed([c.id for c in CHRONIC_CONDITIONS]), "chronic condition"),
    CodeDomain("age_band", "SELECT band_koes AS v FROM dim_age", "the KØS report age bands"),
)
DOMAINS = {d.name: d for d in CODE_DOMAINS}


def coded(domain: str, expr: str) -> str:
    """SQL storing ``expr`` as a small integer code of ``domain``."""
    if domain not in DOMAINS:
        raise KeyError(f"no code domain {domain!r}")
    return f"CAST({expr} AS {type_name(domain)})"


def lookup(domain: str, **derived: str) -> str:
    """A subquery of ``domain``'s values: ``text`` and its small integer ``code``, plus any
    ``derived`` codes (name → ``coded(...)`` SQL over ``text``).

    Joining a fact to it on the text codes each *value* once: DuckDB's VARCHAR → ENUM cast costs
    about 3 s per 69 M rows, this hash join about 1 s. A row whose text were outside the domain
    would get NULL, not an error, so a lookup is only for domains made from the very column it
    codes (or from a code list that column is validated against in full)."""
    extra = "".join(f", {sql} AS {name}" for name, sql in derived.items())
    return (
        f"(SELECT text, {coded(domain, 'text')} AS code{extra} "
        f"FROM (SELECT unnest(enum_range(NULL::{type_name(domain)})) AS text))"
    )


def create_code_types(con: duckdb.DuckDBPyConnection, domains: Sequence[CodeDomain] = CODE_DOMAINS) -> list[str]:
    """Create every domain's ENUM type in the current database; returns the type names.

    Domains are made in declaration order, so a domain may be derived from one made before it."""
    for domain in domains:
        con.execute(
            f"CREATE TYPE {type_name(domain.name)} AS ENUM "
            f"(SELECT DISTINCT v FROM ({domain.values}) WHERE v IS NOT NULL ORDER BY v)"
        )
    return [type_name(d.name) for d in domains]

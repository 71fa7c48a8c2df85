"""Helpers for the code systems the registers use.

Kommunekoder and region codes, SKS diagnosis codes and their ICD-10 hierarchy, ATC codes, the
SSR ``speciale``, DREAM benefit codes and LPR3 contact codes. Where a code list in
:mod:`koes.domain.codelists` carries the answer as an attribute, the helper reads the attribute
rather than repeating the knowledge here.

Reference tables that come from files (the ICD-10 hierarchy) are passed in as rows: the domain
reads no files of its own beyond its declared data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from koes.domain.codelists import (
    DREAM_YDELSE,
    HOVEDSPECIALE,
    KONTAKTTYPE,
    PRIORITET,
    SSR_SPECIALE,
)
from koes.domain.cpr import mask_cpr

__all__ = [
    "ATC_MAIN_GROUPS",
    "REGION_CODES",
    "REGION_NAMES",
    "IcdBlock",
    "IcdCategory",
    "IcdChapter",
    "IcdHierarchy",
    "Sector",
    "atc_level",
    "atc_prefix",
    "benefit_type",
    "dst_region_code",
    "icd10_from_sks",
    "is_acute",
    "is_atc",
    "is_physical",
    "is_region_code",
    "is_sks_diagnosis",
    "kommunekode_int",
    "kommunekode_str",
    "region_code_from_dst",
    "sector_of_specialty",
    "sks_category",
    "sks_from_icd10",
    "split_speciale",
    "ssr_group",
]

# --- kommunekode and regions ------------------------------------------------------------------

REGION_NAMES: Mapping[int, str] = {
    1081: "Region Nordjylland",
    1082: "Region Midtjylland",
    1083: "Region Syddanmark",
    1084: "Region Hovedstaden",
    1085: "Region Sjælland",
}
REGION_CODES: tuple[int, ...] = tuple(REGION_NAMES)

# Statistics Denmark writes region codes without the leading "10" (1081 -> 81).
_DST_REGION_OFFSET = 1000

_KOMMUNEKODE_TEXT = re.compile(r"[0-9]{1,4}")


def kommunekode_str(code: int) -> str:
    """Write a kommunekode with four digits, as CPR extracts and DAGI do ("0101").

    Args:
        code: The numeric code, e.g. 101 (as Statistics Denmark writes it).

    Returns:
        The zero-padded four-digit form.

    Raises:
        ValueError: If the code is not 1-9999.
    """
    if not 1 <= code <= 9999:
        raise ValueError(f"kommunekode must be 1-9999, got {code}")
    return f"{code:04d}"


def kommunekode_int(text: str) -> int:
    """Read a kommunekode written with or without leading zeros ("0101", "101", " 101 ").

    Args:
        text: One to four digits, surrounding whitespace allowed.

    Returns:
        The numeric code.

    Raises:
        ValueError: If the text is not one to four digits or is zero.
    """
    stripped = text.strip()
    # The message echoes the input, masked: a CPR pasted into the wrong column must not leak.
    if _KOMMUNEKODE_TEXT.fullmatch(stripped) is None or int(stripped) == 0:
        raise ValueError(f"kommunekode must be 1 to 4 digits, got {mask_cpr(text)!r}")
    return int(stripped)


def is_region_code(code: int) -> bool:
    """Whether ``code`` is one of the five region codes 1081-1085."""
    return code in REGION_NAMES


def dst_region_code(region_code: int) -> int:
    """Statistics Denmark's form of a region code (1081 -> 81).

    Raises:
        ValueError: If ``region_code`` is not 1081-1085.
    """
    if not is_region_code(region_code):
        raise ValueError(f"not a region code: {region_code}")
    return region_code - _DST_REGION_OFFSET


def region_code_from_dst(dst_code: int) -> int:
    """Region code from Statistics Denmark's form (81 -> 1081).

    Raises:
        ValueError: If ``dst_code`` is not 81-85.
    """
    code = dst_code + _DST_REGION_OFFSET
    if not is_region_code(code):
        raise ValueError(f"not a Statistics Denmark region code: {dst_code}")
    return code


# --- SKS diagnosis codes and ICD-10 -----------------------------------------------------------

# Same shape as the diagnosis columns in registers.py: "D", the ICD-10 category, up to 3 more.
_SKS_DIAGNOSIS = re.compile(r"D([A-Z][0-9]{2})([0-9A-Z]{0,3})")
_ICD10 = re.compile(r"([A-Z][0-9]{2})(?:\.?([0-9A-Z]{1,3}))?")


def is_sks_diagnosis(code: str) -> bool:
    """Whether ``code`` has the shape of an SKS diagnosis code ("DI21", "DI219", "DZ763A")."""
    return _SKS_DIAGNOSIS.fullmatch(code) is not None


def _sks_parts(code: str) -> tuple[str, str]:
    match = _SKS_DIAGNOSIS.fullmatch(code)
    if match is None:
        raise ValueError(f"not an SKS diagnosis code: {code!r}")
    return match.group(1), match.group(2)


def sks_category(code: str) -> str:
    """The SKS category (first four characters) of a diagnosis code: "DI219" -> "DI21".

    Raises:
        ValueError: If ``code`` is not an SKS diagnosis code.
    """
    category, _ = _sks_parts(code)
    return "D" + category


def icd10_from_sks(code: str) -> str:
    """ICD-10 notation of an SKS diagnosis code: "DI219" -> "I21.9", "DI21" -> "I21".

    Raises:
        ValueError: If ``code`` is not an SKS diagnosis code.
    """
    category, rest = _sks_parts(code)
    return f"{category}.{rest}" if rest else category


def sks_from_icd10(code: str) -> str:
    """SKS form of an ICD-10 code: "I21.9" -> "DI219"; the dot may be left out ("I219").

    Raises:
        ValueError: If ``code`` is not an ICD-10 code.
    """
    match = _ICD10.fullmatch(code)
    if match is None:
        raise ValueError(f"not an ICD-10 code: {code!r}")
    return "D" + match.group(1) + (match.group(2) or "")


@dataclass(frozen=True)
class IcdChapter:
    """An ICD-10 chapter: categories ``first``..``last`` (ICD-10 form, e.g. "I00".."I99")."""

    number: int
    roman: str
    first: str
    last: str
    title: str


@dataclass(frozen=True)
class IcdBlock:
    """An ICD-10 block such as "I20-I25"; ``parent`` is the enclosing block of a sub-block."""

    code: str
    first: str
    last: str
    chapter: int
    parent: str | None
    title: str


@dataclass(frozen=True)
class IcdCategory:
    """An ICD-10 three-character category; ``sks_code`` is its SKS form ("DI21")."""

    code: str
    sks_code: str
    block: str
    chapter: int
    title: str


class _HasRange(Protocol):
    @property
    def first(self) -> str: ...

    @property
    def last(self) -> str: ...


_T = TypeVar("_T")
_Ranged = TypeVar("_Ranged", bound=_HasRange)

# Every possible three-character category code, so lookups are one dict access. There are only
# 26 * 100 of them, so precomputing beats searching ranges for each of millions of rows.
_ALL_CATEGORY_CODES = tuple(f"{letter}{n:02d}" for letter in map(chr, range(65, 91)) for n in range(100))


class IcdHierarchy:
    """Chapter, block and category of SKS diagnosis codes, built from reference rows.

    Rows are mappings with the columns of ``refdata/icd10_chapters.csv``, ``icd10_blocks.csv``
    and ``icd10_categories.csv`` (as ``csv.DictReader`` yields them). Chapters and blocks are
    found by range, so a code whose category is missing from the category list still gets its
    chapter and block.
    """

    def __init__(
        self,
        chapters: Iterable[Mapping[str, str]],
        blocks: Iterable[Mapping[str, str]],
        categories: Iterable[Mapping[str, str]],
    ) -> None:
        """Build the hierarchy.

        Args:
            chapters: Rows with chapter_no, chapter, first_code, last_code, title_en.
            blocks: Rows with block, first_code, last_code, chapter_no, parent_block, title_en.
            categories: Rows with code, sks_code, block, chapter_no, title_en.

        Raises:
            ValueError: If a row lacks a column or has a malformed number.
        """
        self.chapters: tuple[IcdChapter, ...] = tuple(_rows("chapters", chapters, _chapter_from_row))
        self.blocks: tuple[IcdBlock, ...] = tuple(_rows("blocks", blocks, _block_from_row))
        self.categories: tuple[IcdCategory, ...] = tuple(_rows("categories", categories, _category_from_row))
        self._category = {c.sks_code: c for c in self.categories}
        self._chapter = _index_by_range(self.chapters, lambda _: 0)
        depth = _block_depths(self.blocks)
        # Nested blocks share their range with their parent; the deepest one is the innermost.
        self._block = _index_by_range(self.blocks, lambda b: depth[b.code])

    def chapter_of(self, sks_code: str) -> IcdChapter | None:
        """The chapter of an SKS diagnosis code, or None if no chapter covers it.

        Raises:
            ValueError: If ``sks_code`` is not an SKS diagnosis code.
        """
        return self._chapter.get(_sks_parts(sks_code)[0])

    def block_of(self, sks_code: str) -> IcdBlock | None:
        """The innermost block of an SKS diagnosis code, or None if no block covers it.

        Raises:
            ValueError: If ``sks_code`` is not an SKS diagnosis code.
        """
        return self._block.get(_sks_parts(sks_code)[0])

    def category_of(self, sks_code: str) -> IcdCategory | None:
        """The category of an SKS diagnosis code, or None if the category is not known.

        Raises:
            ValueError: If ``sks_code`` is not an SKS diagnosis code.
        """
        return self._category.get(sks_category(sks_code))

    def title(self, category: str) -> str | None:
        """English title of a category given in SKS form ("DI21"); None if unknown."""
        found = self._category.get(category)
        return found.title if found is not None else None


def _rows(kind: str, rows: Iterable[Mapping[str, str]], build: Callable[[Mapping[str, str]], _T]) -> list[_T]:
    """Build records from rows, naming the table and row number in any error."""
    built: list[_T] = []
    for i, row in enumerate(rows, start=1):
        try:
            built.append(build(row))
        except KeyError as exc:
            raise ValueError(f"{kind} row {i}: missing column {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"{kind} row {i}: {exc}") from exc
    return built


def _chapter_from_row(row: Mapping[str, str]) -> IcdChapter:
    return IcdChapter(
        number=int(row["chapter_no"]),
        roman=row["chapter"],
        first=row["first_code"],
        last=row["last_code"],
        title=row["title_en"],
    )


def _block_from_row(row: Mapping[str, str]) -> IcdBlock:
    return IcdBlock(
        code=row["block"],
        first=row["first_code"],
        last=row["last_code"],
        chapter=int(row["chapter_no"]),
        parent=row["parent_block"] or None,
        title=row["title_en"],
    )


def _category_from_row(row: Mapping[str, str]) -> IcdCategory:
    return IcdCategory(
        code=row["code"],
        sks_code=row["sks_code"],
        block=row["block"],
        chapter=int(row["chapter_no"]),
        title=row["title_en"],
    )


def _block_depths(blocks: Iterable[IcdBlock]) -> dict[str, int]:
    """Nesting depth of each block (0 for a top-level block), following ``parent``."""
    parent = {b.code: b.parent for b in blocks}
    depths: dict[str, int] = {}
    for code in parent:
        depth, seen, current = 0, {code}, parent[code]
        while current is not None:
            if current in seen or current not in parent:
                raise ValueError(f"block {code}: parent chain is broken or circular")
            seen.add(current)
            depth, current = depth + 1, parent[current]
        depths[code] = depth
    return depths


def _index_by_range(items: Iterable[_Ranged], rank: Callable[[_Ranged], int]) -> dict[str, _Ranged]:
    """Map each three-character category code to the covering item with the highest rank."""
    index: dict[str, _Ranged] = {}
    for item in sorted(items, key=rank):
        # Plain string comparison works because every bound is a letter and two digits.
        for code in _ALL_CATEGORY_CODES:
            if item.first <= code <= item.last:
                index[code] = item
    return index


# --- ATC --------------------------------------------------------------------------------------

# The 14 anatomical main groups of the WHO ATC classification.
ATC_MAIN_GROUPS = frozenset("ABCDGHJLMNPRSV")

# Length of an ATC code at each level: A, A10, A10B, A10BA, A10BA02.
_ATC_LENGTHS: Mapping[int, int] = {1: 1, 2: 3, 3: 4, 4: 5, 5: 7}
_ATC = re.compile(r"[A-Z](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?")


def is_atc(code: str) -> bool:
    """Whether ``code`` is a well-formed ATC code at any level ("A", "A10", ..., "A10BA02")."""
    return _ATC.fullmatch(code) is not None and code[0] in ATC_MAIN_GROUPS


def atc_level(code: str) -> int:
    """The ATC level of a code: 1 "A", 2 "A10", 3 "A10B", 4 "A10BA", 5 "A10BA02".

    Raises:
        ValueError: If ``code`` is not a well-formed ATC code.
    """
    if not is_atc(code):
        raise ValueError(f"not an ATC code: {code!r}")
    return next(level for level, length in _ATC_LENGTHS.items() if length == len(code))


def atc_prefix(code: str, level: int) -> str:
    """The ancestor of an ATC code at a coarser (or the same) level: ("A10BA02", 3) -> "A10B".

    Raises:
        ValueError: If ``code`` is not an ATC code, or ``level`` is not 1 to the code's level.
    """
    own = atc_level(code)
    if not 1 <= level <= own:
        raise ValueError(f"ATC level must be 1-{own} for a level-{own} code, got {level}")
    return code[: _ATC_LENGTHS[level]]


# --- SSR --------------------------------------------------------------------------------------

_SPECIALE = re.compile(r"([0-9]{2})([0-9]{4})")


def split_speciale(speciale: str) -> tuple[str, str]:
    """Split the six-digit SSR ``speciale`` into specialty and service: "800101" -> ("80", "0101").

    Raises:
        ValueError: If ``speciale`` is not six digits.
    """
    match = _SPECIALE.fullmatch(speciale)
    if match is None:
        raise ValueError(f"SSR speciale must be 6 digits, got {mask_cpr(speciale)!r}")
    return match.group(1), match.group(2)


def ssr_group(specialty2: str) -> str:
    """Provider group of a two-digit SSR specialty ("80" -> "almen_praksis").

    Raises:
        KeyError: If the specialty is not in the SSR_SPECIALE code list.
    """
    return SSR_SPECIALE.get(specialty2).attrs["group"]


# --- DREAM ------------------------------------------------------------------------------------


def benefit_type(ydelseskode: str) -> str:
    """Benefit type of a DREAM code ("890" -> "sygedagpenge").

    Raises:
        KeyError: If the code is not in the DREAM_YDELSE code list.
    """
    return DREAM_YDELSE.get(ydelseskode).attrs["benefit_type"]


# --- LPR3 -------------------------------------------------------------------------------------

Sector = Literal["somatik", "psykiatri"]

# PRIORITET carries no attribute for acuteness; ATA1 is the acute code (domain-notes §2.2).
_ACUTE_PRIORITY = "ATA1"


def is_acute(prioritet: str) -> bool:
    """Whether an LPR3 priority code means acute (ATA1).

    Raises:
        KeyError: If the code is not in the PRIORITET code list.
    """
    return PRIORITET.get(prioritet).code == _ACUTE_PRIORITY


def is_physical(kont_type: str) -> bool:
    """Whether an LPR3 contact type is a physical attendance (ALCA00, ALCA10), not virtual.

    Raises:
        KeyError: If the code is not in the KONTAKTTYPE code list.
    """
    return KONTAKTTYPE.get(kont_type).attrs["physical"] == "1"


def sector_of_specialty(hovedspec: str) -> Sector:
    """Hospital sector of a main specialty (kont_ans_hovedspec): somatics or psychiatry.

    Raises:
        KeyError: If the code is not in the HOVEDSPECIALE code list.
    """
    sector = HOVEDSPECIALE.get(hovedspec).attrs["sector"]
    if sector == "somatik":
        return "somatik"
    if sector == "psykiatri":
        return "psykiatri"
    raise ValueError(f"specialty {hovedspec!r} has unknown sector {sector!r}")

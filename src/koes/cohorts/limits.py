"""Limits of an upload and the refusal that breaking one (or sending an unusable file) gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from koes.settings import Settings

MB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may be. The first four come from settings; the rest are safety margins."""

    max_file_bytes: int = 50 * MB
    max_rows: int = 500_000
    max_expanded_bytes: int = 400 * MB  # an XLSX unpacked, all parts together
    max_mixed_share: float = 0.10  # text (not CPR-shaped) in the CPR column beyond this share: refused
    # An XLSX part that unpacks to more than this many times its packed size is a zip bomb: real
    # sheets compress 5-50 times (the 100,000-row benchmark sheet: about 8 times).
    max_compression_ratio: int = 200
    max_zip_entries: int = 2_000
    sample_rows: int = 50  # rows read before deciding which column holds what
    max_groups: int = 20  # distinct group labels; more means the column is not a group column
    max_label_chars: int = 64  # a group label or an own reference longer than this is refused

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        return cls(
            max_file_bytes=settings.cohort_max_file_mb * MB,
            max_rows=settings.cohort_max_rows,
            max_expanded_bytes=settings.cohort_max_expanded_mb * MB,
            max_mixed_share=settings.cohort_max_mixed_percent / 100,
        )


class UploadRefused(Exception):  # noqa: N818 - a refusal, not an error of ours
    """The whole file is refused; nothing from it is kept.

    ``code`` names the message in ``messages.yaml``; ``params`` fill it. Neither ever holds a CPR
    number: params are counts, line numbers, sizes, column positions and masked forms.
    """

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

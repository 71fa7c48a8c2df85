"""An organisation that has ceased (a region merged into another): who took over, and the clear
message its users see instead of an empty page. Pure: the versioned geography and a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from koes.domain.geography import OPEN_END, Geography
from koes.privacy.access import Organisation
from koes.query.scope import ScopeDeniedError


@dataclass(frozen=True)
class CeasedOrganisation:
    """An organisation that no longer exists, and who took over."""

    key: str
    name: str
    last_day: date
    successors: tuple[str, ...]  # names

    def message(self, language: str = "da") -> str:
        after = " / ".join(self.successors)
        if language == "en":
            text = f"Your organisation, {self.name}, ceased on {self.last_day.isoformat()}."
            more = f" Ask the national administrator to move your user to {after}." if after else ""
            return text + more
        text = f"Din organisation, {self.name}, ophørte {self.last_day.isoformat()}."
        more = f" Bed den nationale administrator om at flytte din bruger til {after}." if after else ""
        return text + more


class OrganisationCeasedError(ScopeDeniedError):
    """The principal's organisation has ceased: no data, and a message saying why and what to do."""

    def __init__(self, ceased: CeasedOrganisation) -> None:
        self.ceased = ceased
        super().__init__(ceased.message("en"))


def successors(geography: Geography, region_code: int) -> tuple[int, ...]:
    """The regions the municipalities of a region belonged to the day after it ceased."""
    region = geography.region(region_code)
    if region.valid_to == OPEN_END:
        return ()
    last, next_day = region.valid_to, region.valid_to + timedelta(days=1)
    members = geography.municipalities_of(region_code, last)
    return tuple(sorted({geography.region_of(k, next_day) for k in members}))


def ceased(geography: Geography, organisation: Organisation, today: date) -> CeasedOrganisation | None:
    """The organisation's end, when it is a region that ceased before ``today``; else None."""
    if organisation.kind != "region" or organisation.code is None:
        return None
    try:
        region = geography.region(organisation.code)
    except KeyError:
        return None
    if region.valid_to >= today:
        return None
    names = tuple(geography.region(c).name_da for c in successors(geography, region.code))
    return CeasedOrganisation(str(organisation), region.name_da, region.valid_to, names)

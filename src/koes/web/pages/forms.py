"""Form controls the pages lay out from data: a ``<select>`` with its options, a group of checkboxes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool
    group: str = ""  # the <optgroup> it belongs to, if any


@dataclass(frozen=True)
class Select:
    name: str
    label: str
    options: list[Option]
    id: str = ""  # the element id, when one name is used by several selects

    @property
    def groups(self) -> list[tuple[str, list[Option]]]:
        """The options by ``group``, in first-seen order (one unnamed group when none is set)."""
        out: dict[str, list[Option]] = {}
        for option in self.options:
            out.setdefault(option.group, []).append(option)
        return list(out.items())


@dataclass(frozen=True)
class Checkboxes:
    name: str
    legend: str
    options: list[Option]
    open: bool = False  # shown unfolded (something is ticked)
    notes: dict[str, str] = field(default_factory=dict)  # value → a note after the label

from __future__ import annotations

import pytest

from koes.domain.preventable import PREVENTABLE_GROUPS, preventable_group


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("DE86", "dehydrering"),
        ("DE869", "dehydrering"),
        ("DK590", "forstoppelse"),
        ("DK59", None),  # only the constipation subcode, not all functional bowel disorders
        ("DJ189", "nedre_luftveje"),
        ("DJ19", None),
        ("DJ441", "nedre_luftveje"),
        ("DN390", "blaerebetaendelse"),
        ("DN391", None),
        ("DS720", "brud"),
        ("DD53", "anaemi"),
        ("DD54", None),
        ("DZ75", "sociale_forhold"),
        ("DL89", "tryksaar"),
        (" dl899 ", "tryksaar"),
        ("DI21", None),
    ],
)
def test_groups_follow_the_declared_mapping(code: str, group: str | None) -> None:
    assert preventable_group(code) == group


def test_there_are_nine_groups() -> None:
    assert len(PREVENTABLE_GROUPS) == 9

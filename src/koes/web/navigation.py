"""Where a page sits: the breadcrumb trail every signed-in page shows above its content.

The trail is read from the page's address against the sections declared in ``SECTIONS`` (address
prefix → message key), so a new page needs no code here, only its section if it opens a new one.
The page itself ends the trail, named by its own title and marked as the current page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from koes.web.i18n import Translator

# Address prefix → the message key naming the section; a longer prefix is a subsection; "*" stands
# for one segment of any value (a cohort's id).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("/standard", "reports.title"),
    ("/analyse", "analyse.title"),
    ("/analyse/saved", "saved.title"),
    ("/avanceret", "adv.title"),
    ("/avanceret/*", "cohort.profile_title"),
    ("/admin/users", "users.title"),
    ("/admin/recertification", "recert.title"),
    ("/admin/audit", "audit.title"),
    ("/admin/status", "status.title"),
    ("/admin/organisations", "orgs.title"),
    ("/account/password", "password.title"),
    ("/account/tokens", "tokens.title"),
)


@dataclass(frozen=True)
class Crumb:
    label: str
    href: str | None  # None: the current page


def breadcrumbs(address: str, title: str, t: Translator) -> list[Crumb]:
    """Home, each section ``address`` lies in, then the page itself; empty on the start page."""
    path = urlsplit(address).path.rstrip("/") or "/"
    if path == "/":
        return []
    trail = [Crumb(t("nav.home"), "/")]
    segments = path.strip("/").split("/")
    for end in range(1, len(segments)):
        prefix = segments[:end]
        for pattern, key in SECTIONS:
            if _matches(pattern, prefix):
                trail.append(Crumb(t(key), "/" + "/".join(prefix)))
    trail.append(Crumb(title, None))
    return trail


def _matches(pattern: str, segments: list[str]) -> bool:
    wanted = pattern.strip("/").split("/")
    return len(wanted) == len(segments) and all(w in ("*", s) for w, s in zip(wanted, segments, strict=True))

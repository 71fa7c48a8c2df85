"""The "Regioner" control of the Analysis builder and the Standard report pages: which regions a
region split, filter, comparison and map outline use (``koes.query.geography``).

One control for both, so a user meets the same words and the same days wherever they choose: the
default (the regions of the release's last day), "as they were on each date", and "as of" each day
within the release on which the regions changed (1 January 2027: four regions), with the number
of regions of that day. The days come from the versioned geography, never from code.
"""

from __future__ import annotations

from koes.query.geography import AS_IT_WAS
from koes.services.analysis import AnalysisService
from koes.web.i18n import Translator
from koes.web.pages.forms import Option, Select


def geography_select(service: AnalysisService, chosen: str | None, t: Translator) -> Select:
    """The control, with ``chosen`` ("as_it_was", a day "2027-01-01", or None: the default) selected."""
    options = [
        Option("", t("analyse.geography_default"), not chosen),
        Option(AS_IT_WAS, t("analyse.geography_as_it_was"), chosen == AS_IT_WAS),
    ]
    for day in service.geography_days():
        value = day.isoformat()
        n = len(service.geography.regions_on(day))
        options.append(Option(value, t("analyse.geography_as_of", day=value, n=n), chosen == value))
    return Select("geography", t("analyse.geography"), options)

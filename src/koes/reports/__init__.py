"""Standard reports: predefined views (map, time series, comparison, table) declared as data.

``reports.yaml`` declares each report; :mod:`koes.reports.loader` reads and checks it against the
semantic catalog; :mod:`koes.reports.requests` turns a report and the user's choices into ordinary
analysis requests, so a report goes through the same scope rewrite, disclosure control and audit
as every other analysis (``koes.services.reports``). It imports ``semantic``, ``query`` and the
foundations, never ``privacy`` (its layer sibling) or above.
"""

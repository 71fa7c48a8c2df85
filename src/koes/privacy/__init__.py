"""Rules that protect people: pseudonymisation and record keys, disclosure control (perturbation
tables, cell suppression), roles and access, the audit chain. It may import the layers below it
(it uses ``domain`` and ``query``), not ``reports`` (its layer sibling); ``suppression`` is
pure (of ours only ``koes.domain.cells``) and the audit chain rules never open storage or an engine."""

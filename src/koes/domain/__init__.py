"""The domain model: codes and code lists, CPR rules, periods, geography, register layouts and the
domain's rules (chronic conditions, preventable admissions), plus how a table cell is addressed
(``cells``). The foundation layer: it imports nothing of ours beyond itself, and every layer may import it."""

"""The use cases: the one path plan → scope → execute → protect → audit, and user, cohort, token and
report administration. The CLI and the web call these and nothing lower. It may import every layer
below it (engines, storage and the app database included); never ``web`` or ``cli``."""

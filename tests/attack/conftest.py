"""The attacked release is the session's small warehouse (4,000 persons, 2022–2023)."""

"""Releases on disk: the only place that knows the warehouse folder layout and opens DuckDB files."""

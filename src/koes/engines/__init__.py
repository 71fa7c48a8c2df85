"""Engines run the SQL of scoped plans: DuckDB by default, Spark over the release's Parquet."""

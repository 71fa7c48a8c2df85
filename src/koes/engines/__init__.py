"""The query engines: DuckDB over the release's serving file, Spark over its Parquet copy, both behind
the one :class:`koes.engines.base.Engine` protocol, with the SQL translation Spark needs. An engine runs
SQL already scoped and rendered in its dialect and knows nothing of users, catalogs or plans. It may
import only the foundations (``domain``, ``settings``, ``metrics``) and ``refdata``; ``query`` never
imports it: the services hand it in."""

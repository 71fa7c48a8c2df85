"""Releases on disk: the warehouse folder, its releases and the ``current`` pointer, loads made atomic.
The only place that knows the warehouse layout, and one of the three packages that open DuckDB files.
It may import only the foundations (``domain``, ``settings``, ``metrics``) and ``refdata``."""

"""From an analysis request to scoped, engine-neutral SQL: the request, the plan, the one scope
rewrite, the SQL, the assembly of the engine's rows into blocks. It imports the catalog (``semantic``)
and the foundations, never an engine or storage: the services hand it a ``QueryRunner``."""

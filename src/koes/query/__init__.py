"""From an analysis request to scoped, engine-neutral SQL: request, plan, scope rewrite, SQL."""

"""Pure domain model: codes, CPR rules, periods, register schemas. Imports nothing of ours."""

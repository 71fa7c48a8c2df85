"""Derivations: each step is a small documented function that builds warehouse tables in SQL."""

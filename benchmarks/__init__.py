"""Benchmarks: speed and memory targets, measured by `make bench`, written to docs/benchmarks.md."""

"""Seeded, vectorised generator of a synthetic Denmark in the registers' own layouts."""

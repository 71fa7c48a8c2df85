"""Rules that protect people: pseudonymisation, disclosure control, access and audit."""

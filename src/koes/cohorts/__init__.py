"""Cohorts: a CPR population uploaded by a municipality, validated, pseudonymised and linked.

The upload path reads a CSV or XLSX file as a stream (``source``, ``csvfile``, ``xlsxfile``),
finds the columns (``layout``), checks every row (``rows``), turns each CPR number into the
warehouse's pseudonym at once, and links the pseudonyms to a release (``linkage``). What comes
out is a list of members (pseudonyms, index dates, groups, the user's own references) and a
validation report (``report``) that names lines, never CPR numbers.

It may import the foundations, ``refdata`` and ``privacy`` (pseudonymisation at the door), and opens
nothing itself: never an engine, storage, ``query`` or ``semantic``; it links through an engine it is handed.
"""

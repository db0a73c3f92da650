"""The application-state database: what the app itself writes, apart from the analysis model.

The DuckDB model is rebuilt by every build and served read-only; this database outlives builds.
It holds the audit trail (audit: who viewed whom, when and why, hash-chained and append-only)
and analysts' clerical linkage decisions (decisions: each attributed and audited, read by every
later build). store has the tables, the SQLite-or-PostgreSQL connection and the one-writer-at-a-
time rule; cli the `python -m data_model audit ...` and `decisions ...` commands.

Pages write only through this package; the read layer (data_model.read) never imports it.
"""

"""The family lookup's build side: the search keys (tables), the folding of names and places
both sides share (names), and data_model/lookup.yaml (settings)."""

from data_model.lookup.tables import LOOKUP_TABLES, create_lookup_tables

__all__ = ["LOOKUP_TABLES", "create_lookup_tables"]

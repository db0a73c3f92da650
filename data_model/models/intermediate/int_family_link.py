"""Families as connected groups of persons (data_model/families.py): int_family_link,
int_family_link_evidence and int_family_link_communal, from int_person_link,
int_linkage_record, stg_ehm_relationships and stg_ehm_people."""

from data_model.families import build_families


def build(con, context: dict) -> None:
    build_families(con)

"""Families as connected groups of persons (data_model/linkage/families.py): int_family_link,
int_family_link_evidence and int_family_link_communal."""

from data_model.linkage.families import build_families

INPUTS = (
    "int_person_link",
    "int_linkage_record",
    "stg_ehm_relationships",
    "stg_ehm_people",
    "stg_health_events",
)
OUTPUTS = ("int_family_link_evidence", "int_family_link_communal")


def build(con, context: dict) -> None:
    build_families(con)

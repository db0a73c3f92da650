"""Person linkage (data_model/linkage/): int_linkage_record → int_person_link, plus
int_person_link_pair (scored pairs for review), int_person_link_parameter (what each comparison
level is worth), int_person_link_run (counts and timings) and int_person_link_decision_problem
(clerical decisions the build could not use, and why)."""

from data_model.linkage import link_persons

INPUTS = ("int_linkage_record",)
OUTPUTS = (
    "int_person_link_pair",
    "int_person_link_parameter",
    "int_person_link_run",
    "int_person_link_decision_problem",
)


def build(con, context: dict) -> None:
    context["linkage_run"] = link_persons(con, decisions=context.get("decisions"))

"""The records each indicator and measure of the outcomes plan counts, with the person and family
they belong to: one row per item and source record.

Python because the plan's conditions ("person_role is Offender or Suspect") become SQL here: the
column names come from the checked evidence catalogue (data_model/plan/evidence_catalogue.yaml),
the plan's values go in as parameters. Everything after this step is plain SQL over
int_plan_event and cfg_plan_*.

Reads the staging tables the evidence catalogue offers (a plan names some of them),
mart_person_source_record, mart_family_member and mart_person; writes int_plan_event.
"""

from data_model.plan import load_plan, record_selections, selection_sql

# Every staging table the evidence catalogue can select records from, whichever the plan uses.
INPUTS = (
    "stg_police_incidents",
    "stg_dwp_spells",
    "stg_health_events",
    "stg_csc_episodes",
    "stg_housing_tenancies",
    "stg_service_involvement",
    "mart_person_source_record",
    "mart_family_member",
    "mart_person",
    "cfg_plan_indicator",
    "cfg_plan_measure",
)


def build(con, context: dict) -> None:
    plan = context.get("plan") or load_plan()
    con.execute(
        "create or replace temp table plan_selected_record (item_id varchar, source varchar,"
        " source_record_id varchar, record_date date, end_date date, value varchar)"
    )
    for item_id, _, selector in record_selections(plan):
        sql, params = selection_sql(item_id, selector)
        con.execute(f"insert into plan_selected_record {sql}", params)
    con.execute(
        """
        create or replace table int_plan_event as
        with selected as (
            select * from plan_selected_record
        ),

        who as (
            select indicator_id as item_id, who from cfg_plan_indicator where kind = 'records'
            union all
            select measure_id, who from cfg_plan_measure where kind <> 'terms'
        ),

        persons as (
            select source, source_record_id, person_key from mart_person_source_record
        ),

        members as (
            select member.family_key, member.person_key, member.role, person.dob
            from mart_family_member as member
            inner join mart_person as person using (person_key)
        ),

        placed as (
            select
                selected.item_id,
                members.family_key,
                persons.person_key,
                selected.source,
                selected.source_record_id,
                selected.record_date,
                selected.end_date,
                selected.value,
                who.who,
                -- child or adult on the day of the record; the family role when the age is unknown
                case
                    when members.dob is null then members.role
                    when date_sub('year', members.dob, selected.record_date) < 18 then 'child'
                    else 'adult'
                end as age_group
            from selected
            inner join persons using (source, source_record_id)
            inner join members using (person_key)
            inner join who using (item_id)
        )

        select item_id, family_key, person_key, source, source_record_id, record_date, end_date,
               value, age_group
        from placed
        where who = 'anyone' or who = age_group
        """
    )
    con.execute("drop table plan_selected_record")

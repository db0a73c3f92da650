-- Episodes of early help work: one per referral allocated to a lead practitioner.
with source as (
    select * from {{ source('raw', 'raw_ehm_episodes') }}
),

renamed as (
    select
        episode_id,
        referral_id,
        case_id,
        cluster as episode_cluster,
        team,
        key_worker,
        allocated_date,
        first_contact_date,
        assessment_date,
        family_plan_date,
        attached_date,
        closure_date,
        closure_reason
    from source
)

select * from renamed

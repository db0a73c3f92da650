-- Referrals to early help, one row per referral.
with source as (
    select * from {{ source('raw', 'raw_ehm_referrals') }}
),

renamed as (
    select
        referral_id,
        case_id,
        person_id as referred_person_id,
        received_date,
        referral_source,
        referral_reasons,
        coalesce(decision, 'Awaiting decision') as decision,
        decision_date,
        decision = 'Accepted' as is_accepted,
        cluster
    from source
)

select * from renamed

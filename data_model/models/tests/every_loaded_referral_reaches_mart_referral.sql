-- A loaded referral missing from mart_referral would silently shrink every referral count.
-- With mart_referral.referral_id unique and related to the loaded referrals, this makes the
-- referrals in and out the same.
select loaded.referral_id
from {{ source('raw', 'raw_ehm_referrals') }} as loaded
where not exists (
    select 1
    from {{ ref('mart_referral') }} as mart
    where mart.referral_id = loaded.referral_id
)

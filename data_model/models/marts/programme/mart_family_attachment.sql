-- Each family (case) attached to the programme, once, at its first attachment.
-- Read from episodes directly: an attachment counts even if its referral row was rejected at load.
with episodes as (
    select * from {{ ref('stg_ehm_episodes') }}
)

select
    case_id,
    min(attached_date) as first_attached_date
from episodes
where attached_date is not null
group by case_id

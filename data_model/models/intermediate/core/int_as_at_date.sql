-- The model's "as at" date, defined once: the day case management is current to (else the latest
-- day any source is current to). Every waiting time, age and plan evaluation is measured to it, and
-- mart_model_info records it at the end of the build.
with manifest as (
    select * from {{ source('load', 'load_manifest') }}
)

select coalesce(
    (select max(data_current_as_of) from manifest
     where source in ('ehm_referrals', 'ehm_episodes')),
    (select max(data_current_as_of) from manifest)
) as as_at_date

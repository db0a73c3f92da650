-- The day the outcomes plan is evaluated to: the model's "as at" date, the day case management is
-- current to (as mart_model_info records it at the end of the build).
with manifest as (
    select * from load_manifest
)

select coalesce(
    (select max(data_current_as_of) from manifest
     where source in ('ehm_referrals', 'ehm_episodes')),
    (select max(data_current_as_of) from manifest)
) as as_at_date

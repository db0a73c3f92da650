-- The model's "as at" date, defined once: the day case management is current to (else the latest
-- day any source is current to). Every waiting time, age and plan evaluation is measured to it, and
-- mart_model_info records it at the end of the build.
-- A source's current-to date (load_manifest.data_current_as_of) is declared in the folder's
-- extracts.yaml, or inferred from its latest date no later than the build day; events after it
-- (plus checks.yaml's tolerance) were rejected at load. So no date found in a table can move the
-- as-at date beyond what the extracts are current to.
with manifest as (
    select * from {{ source('load', 'load_manifest') }}
)

select coalesce(
    (select max(data_current_as_of) from manifest
     where source in ('ehm_referrals', 'ehm_episodes')),
    (select max(data_current_as_of) from manifest)
) as as_at_date

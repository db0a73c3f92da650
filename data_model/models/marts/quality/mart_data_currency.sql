-- What each source file gave us, how current it is and how we know; and which sources the
-- council has no file for (int_source_availability).
with manifest as (
    select * from {{ source('load', 'load_manifest') }}
),

availability as (
    select source, is_available, absent_reason, not_available_text
    from {{ ref('int_source_availability') }}
)

select
    source,
    title,
    file,
    file_format,
    encoding,
    rows_read,
    rows_loaded,
    rows_rejected,
    data_current_as_of,
    loaded_at,
    -- how the file was read when not as its contract expects (another delimiter, sheet or row)
    read_as,
    -- how data_current_as_of was found: declared (extracts.yaml), inferred, or inferred, capped
    -- at the build day
    current_to_basis,
    system_name,
    coverage,
    -- built with more rows rejected than the gates allow (build --accept-rejects)
    coalesce(accepted_over_limit, false) as accepted_over_limit,
    -- absent: no file (declared not available, or optional and not sent); rows are then empty
    availability.is_available,
    availability.absent_reason,
    availability.not_available_text
from manifest
inner join availability using (source)
order by source

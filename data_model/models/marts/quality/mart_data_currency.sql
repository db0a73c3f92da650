-- What each source file gave us, how current it is and how we know.
with manifest as (
    select * from {{ source('load', 'load_manifest') }}
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
    coalesce(accepted_over_limit, false) as accepted_over_limit
from manifest
order by source

-- What each source file gave us and how current it is.
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
    read_as
from manifest
order by source

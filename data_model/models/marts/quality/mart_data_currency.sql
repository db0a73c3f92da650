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
    loaded_at
from manifest
order by source

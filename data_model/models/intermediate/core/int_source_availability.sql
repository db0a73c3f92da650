-- Which extracts the model has, defined once: every source the loaders know, and whether the
-- council sent it. A source without a file (declared `available: false` in extracts.yaml, or an
-- optional one not sent) is absent: its tables are empty, and whatever needs it says
-- "not available: no <source> extract" rather than counting nothing as zero. A source sent with
-- no rows is available (and empty).
with manifest as (
    select * from {{ source('load', 'load_manifest') }}
)

select
    source,
    title,
    absent is null as is_available,
    absent as absent_reason,
    case when absent is not null then 'not available: no ' || title || ' extract' end
        as not_available_text
from manifest

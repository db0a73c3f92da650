-- Rows that failed their source's contract, with the reason, kept so nothing is lost.
select
    source,
    file,
    line,
    column_name,
    value,
    reason,
    record_json
from {{ source('load', 'load_rejects') }}
order by source, line, column_name

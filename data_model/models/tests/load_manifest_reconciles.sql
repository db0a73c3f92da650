-- Every row read from an extract is either loaded or rejected (with its reason in load_rejects):
-- the sources whose counts do not add up.
select source, rows_read, rows_loaded, rows_rejected
from {{ source('load', 'load_manifest') }}
where rows_loaded + rows_rejected <> rows_read

-- Values of loaded rows that could not be used as sent, with the reason: loaded as blank, or
-- (a slash date that cannot be day first) read month first.

with set_aside as (
    select * from {{ source('load', 'load_set_aside') }}
),

manifest as (
    select source, title from {{ source('load', 'load_manifest') }}
),

final as (
    select
        set_aside.source,
        manifest.title,
        set_aside.file,
        set_aside.line,
        set_aside.column_name,
        set_aside.value,
        set_aside.reason,
        set_aside.loaded_as
    from set_aside
    inner join manifest using (source)
)

select * from final
order by source, line, column_name

-- Each feed of mart_lookup_involvement as the lookup's currency header needs it: how current it
-- is, how far back it goes, the system it comes from and the area it covers. The service
-- involvement and Family Context extracts say so on every row; other feeds are as current as
-- their source's file (mart_data_currency) and go back to their earliest record.
with involvement as (
    select * from {{ ref('mart_lookup_involvement') }}
),

feeds as (
    select
        feed,
        split_part(feed, ':', 1) as source,
        count(*) as records,
        max(current_as_of) as stated_current_as_of,
        min(coverage_start) as stated_coverage_start,
        min(start_date) as earliest_record,
        mode(system_name) filter (where system_name is not null) as system_name,
        mode(coverage_area) filter (where coverage_area is not null) as coverage_area
    from involvement
    group by feed
)

select
    feeds.feed,
    feeds.source,
    feeds.records,
    coalesce(feeds.stated_current_as_of, cast(currency.data_current_as_of as date))
        as current_as_of,
    coalesce(feeds.stated_coverage_start, feeds.earliest_record) as coverage_start,
    feeds.system_name,
    feeds.coverage_area
from feeds
left join {{ ref('mart_data_currency') }} as currency using (source)
order by feed

-- Record-count measures of attached families (incidents, episodes, health events), per family and
-- evaluation date. Records are counted across the household over windows of the measure's months:
-- one starting at each month after attachment (or closure) for a rolling window, the first only
-- otherwise. A reduction compares with the same months before attachment.
with measures as (
    select * from {{ source('config', 'cfg_plan_measure') }} where kind = 'records'
),

applicable as (
    select * from {{ ref('int_plan_measure_anchor') }} where kind = 'records'
),

as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

records as (
    select event.*
    from {{ ref('int_plan_event') }} as event, as_at
    where event.item_id in (select measure_id from measures)
      and event.record_date <= as_at.as_at_date
),

window_numbers as (
    select
        applicable.*,
        unnest(generate_series(
            0,
            case when applicable.window_mode = 'first' then 0
                else greatest(0, date_diff('month', applicable.anchor_date, as_at.as_at_date)) end
        )) as window_number
    from applicable, as_at
    where applicable.anchor_date <= as_at.as_at_date
),

windows as (
    select
        *,
        (anchor_date + to_months(window_number))::date as window_from,
        (anchor_date + to_months(window_number + window_months))::date - 1 as window_to
    from window_numbers
),

baseline as (
    -- the same number of months before attachment, for a reduction
    select
        applicable.family_key,
        applicable.measure_id,
        count(records.source_record_id) as baseline_records,
        (applicable.anchor_date - to_months(applicable.window_months))::date as baseline_from,
        applicable.anchor_date - 1 as baseline_to
    from applicable
    left join records
        on records.family_key = applicable.family_key
        and records.item_id = applicable.measure_id
        and case applicable.count_mode
            when 'open' then records.record_date < applicable.anchor_date
                and coalesce(records.end_date, date '2999-12-31')
                    >= applicable.anchor_date - to_months(applicable.window_months)
            else records.record_date
                between applicable.anchor_date - to_months(applicable.window_months)
                and applicable.anchor_date - 1
        end
    where applicable.comparison = 'reduction'
    group by all
),

window_records as (
    select
        windows.family_key,
        windows.measure_id,
        windows.window_number,
        -- the day a record starts counting in the window
        greatest(records.record_date, windows.window_from) as counted_from
    from windows
    inner join records
        on records.family_key = windows.family_key
        and records.item_id = windows.measure_id
        and records.record_date <= windows.window_to
        and case windows.count_mode
            when 'open' then coalesce(records.end_date, date '2999-12-31') >= windows.window_from
            else records.record_date >= windows.window_from
        end
),

window_counts as (
    select
        family_key,
        measure_id,
        window_number,
        count(*) as window_records,
        list(counted_from order by counted_from) as counted_dates
    from window_records
    group by all
),

judged_windows as (
    select
        windows.*,
        coalesce(window_counts.window_records, 0) as window_records,
        window_counts.counted_dates,
        baseline.baseline_records,
        baseline.baseline_from,
        baseline.baseline_to,
        -- records allowed (at most, reduction) or needed (at least) in a window
        case windows.comparison
            when 'reduction' then floor(baseline.baseline_records * (1 - windows.threshold) + 1e-9)
            else windows.threshold
        end as threshold_value
    from windows
    left join window_counts using (family_key, measure_id, window_number)
    left join baseline using (family_key, measure_id)
),

meeting_windows as (
    -- the day each window met the measure, if it did
    select
        judged_windows.family_key,
        judged_windows.measure_id,
        judged_windows.window_number,
        case
            when judged_windows.comparison = 'at_least'
                and judged_windows.window_records >= judged_windows.threshold_value
                then judged_windows.counted_dates[judged_windows.threshold_value::integer]
            when judged_windows.comparison <> 'at_least'
                and judged_windows.window_to <= as_at.as_at_date
                and judged_windows.window_records <= judged_windows.threshold_value
                then judged_windows.window_to
        end as met_on
    from judged_windows, as_at
),

achieved as (
    select
        family_key,
        measure_id,
        min(met_on) as achieved_date,
        -- the earliest window; of two met the same day, the first (the same in every build)
        arg_min(window_number, (met_on, window_number)) as achieving_window_number
    from meeting_windows
    where met_on is not null
    group by all
),

evaluation_dates as (
    select dates.evaluation_date, applicable.family_key, applicable.measure_id
    from applicable
    inner join {{ ref('int_plan_evaluation_date') }} as dates using (family_key)
    where applicable.anchor_date <= dates.evaluation_date
),

reported_window as (
    -- as at each date: the window that met the measure; else the latest complete window, else
    -- the first (still running)
    select
        evaluation_dates.evaluation_date,
        case when achieved.achieved_date <= evaluation_dates.evaluation_date
            then achieved.achieving_window_number
            else coalesce(complete.window_number, 0) end as window_number,
        evaluation_dates.family_key,
        evaluation_dates.measure_id
    from evaluation_dates
    asof left join judged_windows as complete
        on complete.family_key = evaluation_dates.family_key
        and complete.measure_id = evaluation_dates.measure_id
        and evaluation_dates.evaluation_date >= complete.window_to
    left join achieved
        on achieved.family_key = evaluation_dates.family_key
        and achieved.measure_id = evaluation_dates.measure_id
),

reported as (
    select
        reported_window.evaluation_date,
        judged_windows.*,
        judged_windows.window_to <= reported_window.evaluation_date as is_complete,
        -- a running window counts the records so far
        len(list_filter(
            coalesce(judged_windows.counted_dates, []),
            lambda counted: counted <= reported_window.evaluation_date
        )) as records_so_far,
        achieved.achieved_date
    from reported_window
    inner join judged_windows using (family_key, measure_id, window_number)
    left join achieved using (family_key, measure_id)
),

measured as (
    select
        *,
        greatest(0, case when comparison = 'at_least' then threshold_value - records_so_far
            else records_so_far - threshold_value end) as distance_to_threshold,
        case when is_complete then window_months
            else date_diff('month', window_from, evaluation_date + 1) end as months_done,
        case when after = 'closure' then 'case closure' else 'attachment' end as anchor_words,
        ' in the ' || window_months || ' months '
            || case when is_complete then 'to ' || strftime(window_to, '%d %b %Y')
                else 'from ' || strftime(window_from, '%d %b %Y') || ' so far' end as period_words
    from reported
)

select
    family_key,
    measure_id,
    evaluation_date,
    family_key as subject_key,
    achieved_date,
    records_so_far::double as measured_value,
    threshold_value::double as threshold_value,
    distance_to_threshold::double as distance_to_threshold,
    months_done as periods_done,
    window_months as periods_needed,
    'months' as period_unit,
    -- a single window that has passed, or already holds too many records, cannot now be met
    case
        when window_mode = 'rolling' then true
        when is_complete then false
        else comparison = 'at_least' or records_so_far <= threshold_value
    end as can_still_be_met,
    window_from,
    least(window_to, evaluation_date) as window_to,
    records_so_far || ' ' || case when records_so_far = 1 then unit_one else unit end
        || period_words
        || case when comparison = 'reduction'
            then ' against ' || baseline_records || ' in the ' || window_months
                || ' months before ' || anchor_words
            else '' end as progress,
    case
        when window_mode = 'first' and is_complete and distance_to_threshold > 0 then
            'cannot now be met: ' || records_so_far || ' '
            || case when records_so_far = 1 then unit_one else unit end
            || ' in the ' || window_months || ' months after ' || anchor_words
            || case when comparison = 'at_least' then ' (at least ' else ' (at most ' end
            || threshold_value::bigint || ' needed)'
        when distance_to_threshold > 0 and comparison = 'at_least' then
            'needs ' || distance_to_threshold::bigint || ' more '
            || case when distance_to_threshold = 1 then unit_one else unit end
            || ' by ' || strftime(window_to, '%d %b %Y')
        when distance_to_threshold > 0 then
            'needs ' || distance_to_threshold::bigint || ' fewer '
            || case when distance_to_threshold = 1 then unit_one else unit end
            || ' in ' || window_months || ' months (at most ' || threshold_value::bigint
            || case when comparison = 'reduction'
                then ', ' || format('{:g}', 100 * threshold) || '% fewer than before '
                    || anchor_words
                else '' end
            || ')'
        else
            'on track: '
            || case
                when window_months - months_done < 1 then 'less than a month more'
                when window_months - months_done = 1 then '1 more month'
                else (window_months - months_done) || ' more months' end
            || ' with at most ' || threshold_value::bigint || ' '
            || case when threshold_value = 1 then unit_one else unit end
            || ' (window ends ' || strftime(window_to, '%d %b %Y') || ')'
    end as needs,
    baseline_from,
    baseline_to
from measured

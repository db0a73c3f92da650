-- School-census measures of attached families, per pupil and evaluation date: the pupil's terms
-- after the family's attachment (or case closure), the window of the measure's consecutive terms
-- ending at the latest one, how far it is from the threshold, and when the pupil first met it.
with applicable as (
    select * from {{ ref('int_plan_measure_anchor') }} where kind = 'terms'
),

as_at as (
    select as_at_date from {{ ref('int_as_at_date') }}
),

had_problem as (
    -- members who had the measure's problem when the family was attached
    select * from {{ ref('int_plan_member_problem_at_attachment') }}
),

pupil_terms as (
    select
        applicable.family_key,
        applicable.measure_id,
        applicable.figure_kind,
        applicable.figure_words,
        applicable.figure_words_one,
        applicable.over,
        applicable.terms as window_terms,
        applicable.comparison,
        applicable.threshold,
        terms.person_key,
        terms.term_index,
        calendar.term_label,
        terms.census_date,
        terms.sessions_possible,
        case applicable.figure_column
            when 'sessions_attended' then terms.sessions_attended
            when 'sessions_missed' then terms.sessions_missed
            when 'sessions_unauthorised' then terms.sessions_unauthorised
            when 'fixed_term_exclusions' then terms.fixed_term_exclusions
            when 'permanent_exclusions' then terms.permanent_exclusions
        end as figure,
        applicable.direction,
        applicable.slack
    from applicable
    inner join {{ ref('mart_family_member') }} as members on members.family_key = applicable.family_key
    inner join {{ ref('int_plan_term') }} as terms
        on terms.person_key = members.person_key
        and terms.census_date > applicable.anchor_date
    inner join {{ ref('int_plan_term_calendar') }} as calendar using (term_index)
    cross join as_at
    where terms.census_date <= as_at.as_at_date
      and (
          applicable.children = 'all'
          or exists (
              select 1 from had_problem
              where had_problem.family_key = applicable.family_key
                and had_problem.person_key = terms.person_key
                and had_problem.problem_id = applicable.problem_id
          )
      )
),

per_term as (
    select
        *,
        figure / sessions_possible as term_rate,
        meets_threshold(figure / sessions_possible, threshold, direction, slack) as term_meets,
        coalesce(
            term_index = 1 + lag(term_index) over (
                partition by family_key, measure_id, person_key order by term_index
            ),
            false
        ) as follows_last_term
    from pupil_terms
),

runs as (
    select
        *,
        -- a missed term or a term short of the threshold starts the run of terms again
        sum((not term_meets or not follows_last_term)::integer) over (
            partition by family_key, measure_id, person_key
            order by term_index rows unbounded preceding
        ) as run_number
    from per_term
),

windows as (
    select
        *,
        sum(term_meets::integer) over (
            partition by family_key, measure_id, person_key, run_number
            order by term_index rows unbounded preceding
        ) as terms_in_a_row,
        count(*) over last_terms as terms_present,
        min(term_index) over last_terms as window_first_term,
        min(census_date) over last_terms as window_from,
        sum(figure) over last_terms as window_figure,
        sum(sessions_possible) over last_terms as window_possible
    from runs
    window last_terms as (
        partition by family_key, measure_id, person_key
        order by term_index
        range between window_terms - 1 preceding and current row
    )
),

judged as (
    select
        *,
        case when figure_kind = 'rate' then window_figure / window_possible
            else window_figure end as window_value,
        -- the period the figure is judged over: this term (each_term) or the window of terms
        case when over = 'each_term' then figure else window_figure end as period_figure,
        case when over = 'each_term' then sessions_possible else window_possible end
            as period_possible
    from windows
),

met as (
    select
        *,
        case
            when terms_present < window_terms then false
            when over = 'each_term' then terms_in_a_row >= window_terms
            else meets_threshold(window_value, threshold, direction, slack)
        end as window_meets
    from judged
),

measured as (
    select
        *,
        min(census_date) filter (where window_meets) over (
            partition by family_key, measure_id, person_key
        ) as achieved_date,
        -- the reported figure: a rate in percent, or a count
        case
            when figure_kind = 'count' then window_value
            when over = 'each_term' then 100 * term_rate
            else 100 * window_value
        end as measured_value,
        case when figure_kind = 'count' then threshold else 100 * threshold end as threshold_value,
        -- sessions of the figure the judged period needed (more) or had too many of (fewer)
        case comparison
            when 'at_least' then ceil(threshold * period_possible - 1e-9) - period_figure
            when 'above' then floor(threshold * period_possible + 1e-9) + 1 - period_figure
            when 'at_most' then period_figure - floor(threshold * period_possible + 1e-9)
            else period_figure - (ceil(threshold * period_possible - 1e-9) - 1)
        end as sessions_short
    from met
),

distances as (
    select
        *,
        case
            when figure_kind = 'count' then greatest(0, case comparison
                when 'at_least' then threshold - window_value
                when 'above' then threshold + 1 - window_value
                when 'at_most' then window_value - threshold
                else window_value - threshold + 1
            end)
            when over = 'each_term' and term_meets then 0
            -- the sessions the judged period was short, as a share of it (so a strict threshold
            -- met exactly is still a session away)
            else 100 * greatest(0, sessions_short) / period_possible
        end as distance_to_threshold,
        case when over = 'each_term' then least(terms_in_a_row, window_terms)
            else terms_present end as terms_done
    from measured
),

worded as (
    select
        *,
        case comparison when 'at_least' then 'at least' when 'at_most' then 'at most'
            else comparison end || ' ' || format('{:g}', threshold_value)
            || case when figure_kind = 'rate' then '%' else '' end as threshold_words,
        case when figure_kind = 'rate' then format('{:.1f}%', measured_value)
            else measured_value::bigint::varchar end as value_words
    from distances
),

plain_words as (
    select
        *,
        case
            when over = 'each_term' then terms_done || ' of ' || window_terms || ' terms met'
            else terms_present || ' of ' || window_terms || ' terms so far'
        end as progress,
        case
            when distance_to_threshold > 0 and figure_kind = 'rate' then
                'needs ' || sessions_short::bigint || case when direction > 0 then ' more '
                    else ' fewer ' end
                || case when sessions_short = 1 then figure_words_one else figure_words end
                || case when over = 'each_term' then ' this term (' || term_label || ': '
                    else ' over the ' || terms_present || ' terms to ' || term_label || ' ('
                end
                || value_words || ', ' || threshold_words || ' needed)'
                -- a term short of the threshold starts the run again: after it, the rest of
                -- the run is still to come ("0 of 3 terms met" needs more than this term)
                || case when over = 'each_term' and window_terms > 1 then
                    ', then ' || (window_terms - 1) || ' more term'
                    || case when window_terms - 1 = 1 then '' else 's' end
                    || ' in a row with ' || figure_words || ' ' || threshold_words
                    else '' end
            when distance_to_threshold > 0 then
                'needs ' || distance_to_threshold::bigint || case when direction > 0 then ' more '
                    else ' fewer ' end
                || case when distance_to_threshold = 1 then figure_words_one else figure_words end
                || ' over ' || window_terms
                || ' terms (' || value_words || ' to ' || term_label || '; '
                || threshold_words || ' allowed)'
            else
                'on track: needs ' || (window_terms - terms_done) || ' more term'
                || case when window_terms - terms_done = 1 then '' else 's' end
                || ' with ' || figure_words || ' ' || threshold_words
        end as needs
    from worded
),

pupils as (
    select distinct family_key, measure_id, person_key from plain_words
),

evaluation_dates as (
    select pupils.*, dates.evaluation_date
    from pupils
    inner join {{ ref('int_plan_evaluation_date') }} as dates using (family_key)
),

latest as (
    -- each pupil's latest term on or before the evaluation date
    select evaluation_dates.evaluation_date, plain_words.*
    from evaluation_dates
    asof join plain_words
        on plain_words.family_key = evaluation_dates.family_key
        and plain_words.measure_id = evaluation_dates.measure_id
        and plain_words.person_key = evaluation_dates.person_key
        and evaluation_dates.evaluation_date >= plain_words.census_date
),

achieving as (
    -- the window in which each pupil first met the measure: the evidence once it is met
    select * from plain_words where census_date = achieved_date
),

reported as (
    -- a pupil not yet there counts while still on a school roll: a term in the last 12 months
    select * from latest
    where (achieved_date is null or achieved_date > evaluation_date)
      and census_date > evaluation_date - interval 1 year
    union all by name
    select achieving.*, latest.evaluation_date
    from latest
    inner join achieving using (family_key, measure_id, person_key)
    where latest.achieved_date <= latest.evaluation_date
)

select
    family_key,
    measure_id,
    evaluation_date,
    person_key as subject_key,
    achieved_date,
    measured_value,
    threshold_value,
    distance_to_threshold,
    terms_done as periods_done,
    window_terms as periods_needed,
    'terms' as period_unit,
    true as can_still_be_met,
    window_from,
    census_date as window_to,
    case when achieved_date <= evaluation_date then 'met: ' || progress || ' (' || term_label || ')'
        else progress end as progress,
    case when achieved_date <= evaluation_date then null else needs end as needs
from reported

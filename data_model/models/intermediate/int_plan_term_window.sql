-- School-census indicators: for every pupil and term, the plan's figure over that term and the ones
-- before it (the indicator's number of consecutive terms), and whether the indicator holds.
with indicators as (
    select * from cfg_plan_indicator where kind = 'terms'
),

terms as (
    select * from int_plan_term
),

figures as (
    select
        terms.person_key,
        terms.family_key,
        terms.term_index,
        terms.census_date,
        terms.next_census_date,
        terms.sessions_possible,
        indicators.indicator_id,
        indicators.problem_id,
        indicators.figure_kind,
        indicators.over,
        indicators.terms as window_terms,
        indicators.comparison,
        indicators.threshold,
        case indicators.figure_column
            when 'sessions_attended' then terms.sessions_attended
            when 'sessions_missed' then terms.sessions_missed
            when 'sessions_unauthorised' then terms.sessions_unauthorised
            when 'fixed_term_exclusions' then terms.fixed_term_exclusions
            when 'permanent_exclusions' then terms.permanent_exclusions
        end as figure
    from terms
    cross join indicators
),

per_term as (
    select
        *,
        case when figure_kind = 'rate' then figure / sessions_possible else figure end
            as term_value,
        -- a rate compared with its threshold (1e-9: 117 of 130 is exactly 90%)
        case comparison
            when 'at_least' then figure / sessions_possible >= threshold - 1e-9
            when 'at_most' then figure / sessions_possible <= threshold + 1e-9
            when 'above' then figure / sessions_possible > threshold + 1e-9
            else figure / sessions_possible < threshold - 1e-9
        end as term_meets
    from figures
),

candidates as (
    -- A pupil can meet an indicator only with a term that could: a rate over terms is a weighted
    -- mean of the terms' rates, so one term must meet it alone; a count of at least n needs a
    -- term with one; a count of at most n needs a term within it. The rest are skipped.
    select distinct indicator_id, person_key
    from per_term
    where case
        when figure_kind = 'rate' then term_meets
        when comparison in ('at_least', 'above') then term_value > 0
        when comparison = 'at_most' then term_value <= threshold
        else term_value < threshold
    end
),

windows as (
    select
        *,
        min(term_index) over last_terms as first_term_index,
        count(*) over last_terms as terms_present,
        count(*) filter (where term_meets) over last_terms as terms_meeting,
        sum(figure) over last_terms as window_figure,
        sum(sessions_possible) over last_terms as window_possible
    from per_term
    semi join candidates using (indicator_id, person_key)
    window last_terms as (
        partition by indicator_id, person_key
        order by term_index
        range between window_terms - 1 preceding and current row
    )
),

window_values as (
    select
        *,
        -- a rate over the terms together, or a count summed over them
        case when figure_kind = 'rate' then window_figure / window_possible else window_figure end
            as window_value
    from windows
),

judged as (
    select
        *,
        case
            when over = 'each_term' then terms_present = window_terms and terms_meeting = terms_present
            when over = 'any_term' then terms_meeting > 0
            when comparison = 'at_least' then window_value >= threshold - 1e-9
            when comparison = 'at_most' then window_value <= threshold + 1e-9
            when comparison = 'above' then window_value > threshold + 1e-9
            else window_value < threshold - 1e-9
        end as holds
    from window_values
)

select
    family_key,
    person_key,
    problem_id,
    indicator_id,
    first_term_index,
    term_index as last_term_index,
    -- known from the census day until the next term's census day replaces it
    census_date as holds_from,
    coalesce(next_census_date, census_date + interval 1 year)::date - 1 as holds_until
from judged
where holds

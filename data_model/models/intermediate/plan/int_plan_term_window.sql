-- School-census indicators: for every pupil and term (of the pupils int_plan_term keeps), the
-- figures over that term and the ones before it (as many as an indicator asks for), and the
-- terms at which an indicator holds.
-- One pass over the terms serves every indicator of a window size: a rate over the terms
-- together needs its sums, "each term" its lowest (or highest) rate, "any term" the other.
with indicators as (
    select * from {{ source('config', 'cfg_plan_indicator') }} where kind = 'terms'
),

window_sizes as (
    select distinct terms as window_terms from indicators
),

terms as (
    select * from {{ ref('int_plan_term') }}
),

windows as (
    select
        terms.person_key,
        terms.term_index,
        terms.census_date,
        window_sizes.window_terms,
        count(*) over last_terms as terms_present,
        min(terms.term_index) over last_terms as first_term_index,
        sum(terms.sessions_possible) over last_terms as possible,
        sum(terms.sessions_attended) over last_terms as attended,
        min(terms.sessions_attended / terms.sessions_possible) over last_terms as attended_lowest,
        max(terms.sessions_attended / terms.sessions_possible) over last_terms as attended_highest,
        sum(terms.sessions_missed) over last_terms as missed,
        min(terms.sessions_missed / terms.sessions_possible) over last_terms as missed_lowest,
        max(terms.sessions_missed / terms.sessions_possible) over last_terms as missed_highest,
        sum(terms.sessions_unauthorised) over last_terms as unauthorised,
        min(terms.sessions_unauthorised / terms.sessions_possible) over last_terms
            as unauthorised_lowest,
        max(terms.sessions_unauthorised / terms.sessions_possible) over last_terms
            as unauthorised_highest,
        sum(terms.fixed_term_exclusions) over last_terms as fixed_term_exclusions,
        sum(terms.permanent_exclusions) over last_terms as permanent_exclusions
    from terms
    cross join window_sizes
    window last_terms as (
        partition by window_sizes.window_terms, terms.person_key
        order by terms.term_index
        range between window_sizes.window_terms - 1 preceding and current row
    )
),

judged as (
    select
        windows.person_key,
        windows.term_index,
        windows.census_date,
        windows.first_term_index,
        indicators.indicator_id,
        indicators.problem_id,
        case
            when indicators.over = 'each_term' and windows.terms_present < indicators.terms
                then false
            when indicators.figure_kind = 'count' then meets_threshold(
                case indicators.figure
                    when 'fixed_term_exclusions' then windows.fixed_term_exclusions
                    else windows.permanent_exclusions
                end,
                indicators.threshold, indicators.direction, indicators.slack)
            when indicators.over = 'all_terms' then meets_threshold(
                case indicators.figure
                    when 'attendance' then windows.attended
                    when 'absence' then windows.missed
                    else windows.unauthorised
                end / windows.possible,
                indicators.threshold, indicators.direction, indicators.slack)
            -- every term meets when the worst does; some term meets when the best does
            else meets_threshold(
                case
                    when (indicators.over = 'each_term') = (indicators.direction > 0)
                        then case indicators.figure
                            when 'attendance' then windows.attended_lowest
                            when 'absence' then windows.missed_lowest
                            else windows.unauthorised_lowest
                        end
                    else case indicators.figure
                        when 'attendance' then windows.attended_highest
                        when 'absence' then windows.missed_highest
                        else windows.unauthorised_highest
                    end
                end,
                indicators.threshold, indicators.direction, indicators.slack)
        end as holds
    from windows
    inner join indicators on indicators.terms = windows.window_terms
)

select
    members.family_key,
    judged.person_key,
    judged.problem_id,
    judged.indicator_id,
    judged.first_term_index,
    judged.term_index as last_term_index,
    -- known from the census day until the next term's census day replaces it
    judged.census_date as holds_from,
    coalesce(calendar.next_census_date, judged.census_date + interval 1 year)::date - 1
        as holds_until
from judged
inner join {{ ref('mart_family_member') }} as members using (person_key)
inner join {{ ref('int_plan_term_calendar') }} as calendar using (term_index)
where judged.holds

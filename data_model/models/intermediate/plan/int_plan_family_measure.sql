-- Every outcome measure of the plan for every attached family on each evaluation date: met, near,
-- not met or not applicable, with the measured value, the threshold and the distance between them
-- for the member who decides it (the furthest child when every child must meet it; the nearest
-- adult when one adult is enough). A measure whose source the council does not have
-- (int_source_availability) is 'not available': never met or near, with no figures, since no
-- records there would otherwise read as "none happened".
with measures as (
    select * from {{ source('config', 'cfg_plan_measure') }}
),

availability as (
    select * from {{ ref('int_source_availability') }}
),

attached as (
    select * from {{ ref('int_plan_attachment') }}
),

dates as (
    select * from {{ ref('int_plan_evaluation_date') }}
),

subjects as (
    select * from {{ ref('int_plan_measure_term') }}
    union all by name
    select * from {{ ref('int_plan_measure_record') }}
    union all by name
    select * from {{ ref('int_plan_measure_spell') }}
),

family_measures as (
    select
        dates.family_key,
        dates.evaluation_date,
        dates.is_current,
        attached.attached_date,
        attached.closure_date,
        measures.*,
        list_contains(attached.problems_at_attachment, measures.problem_id) as is_applicable,
        coalesce(availability.is_available, true) as is_available,
        availability.not_available_text,
        -- one adult in work is enough; every child must attend
        case when measures.kind = 'continuous_spell' then 'any' else 'every' end as members_rule
    from dates
    inner join attached using (family_key)
    cross join measures
    left join availability on availability.source = measures.source
    -- the measures that do not apply are listed on the as-at date only
    where dates.is_current or list_contains(attached.problems_at_attachment, measures.problem_id)
),

ranked as (
    select
        subjects.*,
        family_measures.members_rule,
        subjects.achieved_date <= subjects.evaluation_date as subject_met,
        row_number() over (
            partition by subjects.family_key, subjects.measure_id, subjects.evaluation_date
            order by
                case when family_measures.members_rule = 'every'
                    then (subjects.achieved_date <= subjects.evaluation_date) is true end,
                case when family_measures.members_rule = 'every'
                    then -subjects.distance_to_threshold end,
                case when family_measures.members_rule = 'any'
                    then (subjects.achieved_date <= subjects.evaluation_date) is true end desc,
                case when family_measures.members_rule = 'any'
                    then subjects.can_still_be_met end desc,
                case when family_measures.members_rule = 'any'
                    then subjects.distance_to_threshold end,
                subjects.periods_done,
                subjects.subject_key
        ) as deciding_rank
    from subjects
    inner join family_measures using (family_key, measure_id, evaluation_date)
),

rolled_up as (
    select
        family_key,
        measure_id,
        evaluation_date,
        count(*) as subjects,
        count(*) filter (where subject_met) as subjects_met,
        case
            when any_value(members_rule) = 'any' then min(achieved_date) filter (where subject_met)
            when count(*) filter (where subject_met) = count(*) then max(achieved_date)
        end as achieved_date
    from ranked
    group by all
),

deciding as (
    select * exclude (achieved_date, deciding_rank, members_rule, subject_met)
    from ranked
    where deciding_rank = 1
),

combined as (
    select
        family_measures.family_key,
        family_measures.measure_id,
        family_measures.problem_id,
        family_measures.title as measure_title,
        family_measures.kind,
        family_measures.evaluation_date,
        family_measures.is_current,
        family_measures.is_applicable,
        family_measures.is_available,
        family_measures.not_available_text,
        family_measures.unit,
        family_measures.weeks,
        family_measures.near_within,
        family_measures.members_rule,
        rolled_up.subjects,
        rolled_up.subjects_met,
        rolled_up.achieved_date,
        deciding.* exclude (family_key, measure_id, evaluation_date),
        -- nothing to measure yet: why
        case
            when family_measures.after = 'closure'
                and (family_measures.closure_date is null
                     or family_measures.closure_date > family_measures.evaluation_date)
                then 'measured after the case closes; still open'
            when family_measures.kind = 'terms'
                then 'no child with a school term since attachment in the last 12 months'
            when family_measures.kind = 'continuous_spell'
                then 'no spell recorded since attachment: needs ' || family_measures.weeks
                    || ' weeks in a row'
            else 'nothing recorded yet'
        end as nothing_yet
    from family_measures
    left join rolled_up using (family_key, measure_id, evaluation_date)
    left join deciding using (family_key, measure_id, evaluation_date)
)

select
    family_key,
    measure_id,
    problem_id,
    measure_title,
    kind,
    evaluation_date,
    is_current,
    case
        when not is_applicable then 'not applicable'
        when not is_available then 'not available'
        when achieved_date <= evaluation_date then 'met'
        when subjects is null then 'not met'
        when measure_is_near(can_still_be_met, distance_to_threshold, near_within) then 'near'
        else 'not met'
    end as status,
    case when is_applicable and is_available and achieved_date <= evaluation_date
        then achieved_date end as achieved_date,
    -- no spell since attachment is 0 weeks of the weeks needed (when there are spells to see)
    case when is_available
        then coalesce(measured_value, case when kind = 'continuous_spell' then 0 end)
    end as measured_value,
    coalesce(threshold_value, case when kind = 'continuous_spell' then weeks end) as threshold_value,
    unit,
    case when is_available
        then coalesce(distance_to_threshold, case when kind = 'continuous_spell' then weeks end)
    end as distance_to_threshold,
    near_within as near_margin,
    case when is_available
        then coalesce(periods_done, case when kind = 'continuous_spell' then 0 end)
    end as periods_done,
    coalesce(periods_needed, case when kind = 'continuous_spell' then weeks end) as periods_needed,
    coalesce(period_unit, case when kind = 'continuous_spell' then 'weeks' end) as period_unit,
    is_available and coalesce(can_still_be_met, true) as can_still_be_met,
    is_applicable and is_available and not coalesce(achieved_date <= evaluation_date, false)
        and distance_to_threshold = 0 as is_on_track,
    case when is_available then coalesce(subjects, 0) end as members_measured,
    case when is_available then coalesce(subjects_met, 0) end as members_met,
    members_rule,
    case when is_available and kind <> 'records' then subject_key end as deciding_person_key,
    window_from,
    window_to,
    baseline_from,
    baseline_to,
    case
        when not is_applicable then null
        when not is_available then not_available_text
        when subjects is null then nothing_yet
        when members_rule = 'every' and subjects > 1
            then subjects_met || ' of ' || subjects || ' children met; furthest: ' || progress
        else progress
    end as progress,
    case
        when not is_applicable then null
        when not is_available then not_available_text
        when achieved_date <= evaluation_date then null
        when subjects is null then nothing_yet
        else needs
    end as needs,
    -- whether the model has the measure's source, applicable or not (a claim route that needs
    -- the measure cannot be met without it)
    is_available,
    not_available_text
from combined

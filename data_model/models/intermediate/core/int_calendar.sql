-- Every day with its working-day index, so working days between two dates is a subtraction:
-- working days after a and up to b = working_day_index(b) - working_day_index(a).
with bank_holidays as (
    select * from {{ source('reference', 'ref_bank_holidays') }}
),

days as (
    select cast(range as date) as calendar_date
    from range(
        (select make_date(min(year(holiday_date)), 1, 1) from bank_holidays),
        (select make_date(max(year(holiday_date)), 12, 31) + interval 1 day from bank_holidays),
        interval 1 day
    )
),

flagged as (
    select
        days.calendar_date,
        bank_holidays.holiday_name,
        isodow(days.calendar_date) <= 5 and bank_holidays.holiday_date is null as is_working_day
    from days
    left join bank_holidays on bank_holidays.holiday_date = days.calendar_date
)

select
    calendar_date,
    is_working_day,
    holiday_name,
    sum(case when is_working_day then 1 else 0 end) over (order by calendar_date) as working_day_index
from flagged

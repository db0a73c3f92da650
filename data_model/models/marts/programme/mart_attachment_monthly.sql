-- Families attached to the programme each month, against a straight-line trajectory to the target.
with programme as (
    select * from {{ ref('stg_programme') }}
),

first_attachment as (
    select case_id, first_attached_date as attached_date from {{ ref('mart_family_attachment') }}
),

months as (
    select cast(range as date) as month
    from programme, range(
        date_trunc('month', programme.start_date),
        date_trunc('month', programme.end_date) + interval 1 month,
        interval 1 month
    )
),

attached_by_month as (
    select date_trunc('month', attached_date)::date as month, count(*) as attached_in_month
    from first_attachment
    group by 1
),

monthly as (
    select
        months.month,
        coalesce(attached_by_month.attached_in_month, 0) as attached_in_month,
        -- Attachments before the programme start (if any) count in its first month.
        (select count(*) from first_attachment
         where attached_date < months.month + interval 1 month) as attached_cumulative,
        row_number() over (order by months.month) as month_number,
        count(*) over () as programme_months
    from months
    left join attached_by_month on attached_by_month.month = months.month
)

select
    month,
    attached_in_month,
    attached_cumulative,
    month_number,
    programme_months
from monthly
order by month

-- The working-day calendar, for measures "as at" a date chosen on a page.
select * from {{ ref('int_calendar') }}

-- The working-day calendar, for measures "as at" a date chosen on a page.
select * from int_calendar

-- School terms in order, each dated by its census day, with the next term's census day (a term's
-- figures are the latest known until then).
with census as (
    select term_index, academic_year, term, record_date as census_date from {{ ref('stg_school_census') }}
),

terms as (
    select
        term_index,
        any_value(term || ' ' || academic_year) as term_label,
        mode(census_date) as census_date
    from census
    group by term_index
)

select
    term_index,
    term_label,
    census_date,
    lead(census_date) over (order by term_index) as next_census_date
from terms

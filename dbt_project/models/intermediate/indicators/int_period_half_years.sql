-- The half-years each reporting period is made of: a half-year is its own, a year has those of its half-years that
-- have begun. A model reading a half-year grain joins this to report any period, counting a family once per period.
-- A table for the same reason as int_periods: read as a view its rows were guessed, not known.
{{ config(materialized='table') }}

with periods as (
    select period, period_kind, year from {{ ref('int_periods') }}
)

select period, period_kind, period as half_year from periods where period_kind = 'half_year'
union all
select years.period, years.period_kind, halves.period
from periods as years
join periods as halves on halves.period_kind = 'half_year' and halves.year = years.year
where years.period_kind = 'year'

-- Per family and half-year: children of compulsory-school age (6–17 at the half-year's end) and how many of them
-- the registry shows in school, from the person versions valid then.
with periods as (
    select period, period_end from {{ ref('int_periods') }} where period_kind = 'half_year'
),

persons_then as (
    select periods.period, periods.period_end, versions.*
    from periods
    join {{ ref('int_person_versions') }} as versions
      on versions.valid_from <= periods.period_end
     and (versions.valid_to is null or versions.valid_to > periods.period_end)
)

select
    household_key,
    period as half_year,
    count(*) filter (where extract(year from age(period_end, birth_date)) between 6 and 17) as school_age_children,
    count(*) filter (where extract(year from age(period_end, birth_date)) between 6 and 17 and is_student)
        as school_age_children_in_school
from persons_then
group by household_key, period

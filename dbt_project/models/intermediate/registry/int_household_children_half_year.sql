-- Per family and half-year: children of compulsory-school age (6–17 at the half-year's end) and how many of them
-- the registry shows in school, from the person versions valid then. Families without such a child have no row.
with periods as (
    select period, period_end,
           -- aged 6–17 at the half-year's end: born in the twelve years from 18 years before it to 6 years before it
           (period_end - interval '18 years')::date as born_after,
           (period_end - interval '6 years')::date as born_by
    from {{ ref('int_periods') }}
    where period_kind = 'half_year'
),

-- The type-2 history (as int_person_versions) of only the persons born when a child of school age in one of these
-- half-years could be: every version of each, so that a version still holds until the person's next one, and the
-- sort behind it covers a part of the registry rather than all of it.
person_versions as (
    {{ snapshot_versions(source('belediye', 'belediye__persons'), 'person_key',
                         ['person_key', 'household_key', 'birth_date', 'is_student'],
                         keys_having='birth_date > (select min(born_after) from periods)
                                      and birth_date <= (select max(born_by) from periods)') }}
),

children_then as (
    select periods.period, versions.household_key, versions.is_student
    from periods
    join person_versions as versions
      on versions.valid_from <= periods.period_end
     and (versions.valid_to is null or versions.valid_to > periods.period_end)
     and versions.birth_date > periods.born_after
     and versions.birth_date <= periods.born_by
)

select
    household_key,
    period as half_year,
    count(*) as school_age_children,
    count(*) filter (where is_student) as school_age_children_in_school
from children_then
group by household_key, period

-- One row per registered person, as of the latest delivery. No name, ID, birth date or disability detail: the
-- person is a keyed pseudonym with an age band and the facts the plan's indicators need.
with persons as (
    select * from {{ ref('stg_belediye__persons') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
)

select
    persons.person_key::text as person_key,
    persons.household_key::text as household_key,
    persons.relation::text as relation,
    persons.sex::text as sex,
    case
        when age < 6 then '0-5' when age < 14 then '6-13' when age < 18 then '14-17'
        when age < 30 then '18-29' when age < 45 then '30-44' when age < 65 then '45-64' else '65+'
    end::text as age_band,
    (age between 6 and 17)::boolean as is_school_age,
    persons.is_student::boolean as is_student,
    persons.school_level::text as school_level,
    persons.employable::boolean as employable,
    persons.employment_status::text as employment_status,
    persons.is_foreign_national::boolean as is_foreign_national,
    (persons.tckn_status = 'valid')::boolean as has_valid_id
from persons
cross join as_of
cross join lateral (select extract(year from age(as_of.as_of_date, persons.birth_date))::integer as age) ages

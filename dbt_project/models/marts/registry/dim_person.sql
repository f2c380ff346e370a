-- One row per registered person, as of the latest delivery. No name, ID, birth date or disability detail: the
-- person is a keyed pseudonym with an age band and the facts the plan's indicators need.
--
-- What could be known of a person from outside — sex, age, place in the family, foreign nationality — is published
-- only as far as members of at least `min_families_alike` families share it (k-anonymity, as dim_household): a person
-- who would stand out loses their relation to the head first, then their age (band, school age and school level), their
-- nationality and last their sex.
{%- set k = var('min_families_alike') %}
with persons as (
    select * from {{ ref('stg_belediye__persons') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

described as (
    select
        persons.*,
        case
            when age < 6 then '0-5' when age < 14 then '6-13' when age < 18 then '14-17'
            when age < 30 then '18-29' when age < 45 then '30-44' when age < 65 then '45-64' else '65+'
        end as age_band,
        (age between 6 and 17) as is_school_age
    from persons
    cross join as_of
    cross join lateral (select extract(year from age(as_of.as_of_date, persons.birth_date))::integer as age) ages
),

-- Families whose members share each step of what could be known of a person, from the most to the least detailed.
-- Window counts over one pass (macro families_alike): a join back to per-group counts would have to match NULLs
-- (IS NOT DISTINCT FROM), which no hash join can, and a nested loop re-aggregates the groups for every person.
published as (
    select
        described.*,
        {{ families_alike('sex, is_foreign_national, age_band, relation') }} >= {{ k }} as shows_relation,
        {{ families_alike('sex, is_foreign_national, age_band') }} >= {{ k }} as shows_age,
        {{ families_alike('sex, is_foreign_national') }} >= {{ k }} as shows_nationality,
        {{ families_alike('sex') }} >= {{ k }} as shows_sex
    from described
)

select
    person_key::text as person_key,
    household_key::text as household_key,
    (case when shows_relation then relation end)::text as relation,
    (case when shows_sex then sex end)::text as sex,
    (case when shows_age then age_band end)::text as age_band,
    (case when shows_age then is_school_age end)::boolean as is_school_age,
    -- the school level tells the age too
    (case when shows_age then is_student end)::boolean as is_student,
    (case when shows_age then school_level end)::text as school_level,
    employable::boolean as employable,
    employment_status::text as employment_status,
    (case when shows_nationality then is_foreign_national end)::boolean as is_foreign_national,
    (tckn_status = 'valid')::boolean as has_valid_id
from published

-- One row per registered person, as of the latest delivery. No name, ID, birth date or disability detail: the
-- person is a keyed pseudonym with an age band and the facts the plan's indicators need.
--
-- What could be known of a person from outside — sex, age, place in the family, foreign nationality — is published
-- only as far as members of at least `min_families_alike` families share it (k-anonymity, as dim_household): a person
-- who would stand out loses their relation to the head first, then their age (band, school age and school level), their
-- nationality and last their sex.
{%- set k = var('min_families_alike') %}
-- only what is published or decides it: `profiled` below is read twice, so PostgreSQL writes it out whole, and with
-- every staging column (names folded, IDs) that was most of this model's time (docs/decisions.md)
with persons as (
    select
        person_key, household_key, relation, sex, birth_date, is_student, school_level, employable,
        employment_status, is_foreign_national, tckn_status
    from {{ ref('stg_belediye__persons') }}
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

-- What could be known of a person, with NULL written as '-' (no delivered value is one: the contract's enums, an age
-- band, a boolean), so that the counts below join back by hash: NULL = NULL is not true, and IS NOT DISTINCT FROM
-- cannot be hashed.
profiled as (
    select
        described.*,
        coalesce(sex, '-') as known_sex,
        coalesce(is_foreign_national::text, '-') as known_nationality,
        coalesce(age_band, '-') as known_age_band,
        coalesce(relation, '-') as known_relation
    from described
),

-- Families whose members share each step of what could be known of a person, from the most to the least detailed:
-- each family once per step's combination, then counted: hash aggregates, where counting in windows sorted every
-- person eight times (docs/decisions.md).
family_profiles as (
    select distinct household_key, known_sex, known_nationality, known_age_band, known_relation from profiled
),

alike_to_relation as (
    select known_sex, known_nationality, known_age_band, known_relation, count(*) as families
    from family_profiles
    group by known_sex, known_nationality, known_age_band, known_relation
),

alike_to_age as (
    select known_sex, known_nationality, known_age_band, count(*) as families
    from (select distinct household_key, known_sex, known_nationality, known_age_band from family_profiles) f
    group by known_sex, known_nationality, known_age_band
),

alike_to_nationality as (
    select known_sex, known_nationality, count(*) as families
    from (select distinct household_key, known_sex, known_nationality from family_profiles) f
    group by known_sex, known_nationality
),

alike_to_sex as (
    select known_sex, count(*) as families
    from (select distinct household_key, known_sex from family_profiles) f
    group by known_sex
),

-- the four counts of each most detailed combination (a few dozen rows), so that every person is one hash lookup
-- (materialized: inlined, the planner joined the persons to each count in a nested loop)
alike as materialized (
    select
        alike_to_relation.known_sex, alike_to_relation.known_nationality, alike_to_relation.known_age_band,
        alike_to_relation.known_relation,
        alike_to_relation.families >= {{ k }} as shows_relation,
        alike_to_age.families >= {{ k }} as shows_age,
        alike_to_nationality.families >= {{ k }} as shows_nationality,
        alike_to_sex.families >= {{ k }} as shows_sex
    from alike_to_relation
    join alike_to_age using (known_sex, known_nationality, known_age_band)
    join alike_to_nationality using (known_sex, known_nationality)
    join alike_to_sex using (known_sex)
),

published as (
    select profiled.*, alike.shows_relation, alike.shows_age, alike.shows_nationality, alike.shows_sex
    from profiled
    join alike using (known_sex, known_nationality, known_age_band, known_relation)
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

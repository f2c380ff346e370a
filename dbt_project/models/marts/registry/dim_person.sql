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

-- Persons of each most detailed combination of what could be known of them (a few dozen rows).
combinations as (
    select known_sex, known_nationality, known_age_band, known_relation, count(*) as persons
    from profiled
    group by known_sex, known_nationality, known_age_band, known_relation
),

-- Each step's combinations, from the most to the least detailed, '*' standing for what the step leaves out (no
-- known value is '*'), with their persons.
steps as (
    select known_sex, known_nationality, known_age_band, known_relation, persons from combinations
    union all
    select known_sex, known_nationality, known_age_band, '*', sum(persons)
    from combinations group by known_sex, known_nationality, known_age_band
    union all
    select known_sex, known_nationality, '*', '*', sum(persons) from combinations group by known_sex, known_nationality
    union all
    select known_sex, '*', '*', '*', sum(persons) from combinations group by known_sex
),

-- A combination's families are at most its persons and at least its persons over the largest family's members: fewer
-- than k persons are fewer than k families, and k times the largest family's members are at least k families. Only
-- the combinations in between have their families counted, where counting every family's combinations (1.8 M
-- groups at ten districts) was most of this model's time (docs/decisions.md).
largest_family as (
    select max(members) as members from (select count(*) as members from profiled group by household_key) families
),

uncertain as (
    select steps.* from steps cross join largest_family
    where steps.persons >= {{ k }} and steps.persons < {{ k }} * largest_family.members
),

uncertain_families as (
    select known_sex, known_nationality, known_age_band, known_relation, count(distinct household_key) as families
    from (
        select uncertain.*, profiled.household_key from uncertain
        join profiled using (known_sex, known_nationality, known_age_band, known_relation)
        union all
        select uncertain.*, profiled.household_key from uncertain
        join profiled using (known_sex, known_nationality, known_age_band)
        where uncertain.known_relation = '*' and uncertain.known_age_band <> '*'
        union all
        select uncertain.*, profiled.household_key from uncertain
        join profiled using (known_sex, known_nationality)
        where uncertain.known_age_band = '*' and uncertain.known_nationality <> '*'
        union all
        select uncertain.*, profiled.household_key from uncertain
        join profiled using (known_sex)
        where uncertain.known_nationality = '*'
    ) members
    -- tested once before any join: with no such combination (the usual case) the persons are not read again
    where exists (select from uncertain)
    group by known_sex, known_nationality, known_age_band, known_relation
),

shown as (
    select
        steps.known_sex, steps.known_nationality, steps.known_age_band, steps.known_relation,
        case
            when steps.persons < {{ k }} then false
            when steps.persons >= {{ k }} * largest_family.members then true
            else coalesce(uncertain_families.families, 0) >= {{ k }}
        end as shown
    from steps
    cross join largest_family
    left join uncertain_families using (known_sex, known_nationality, known_age_band, known_relation)
),

-- each most detailed combination with its four steps' verdicts, so that every person is one hash lookup
-- (materialized: inlined, the planner joined the persons to each count in a nested loop)
alike as materialized (
    select
        combinations.known_sex, combinations.known_nationality, combinations.known_age_band,
        combinations.known_relation,
        to_relation.shown as shows_relation,
        to_age.shown as shows_age,
        to_nationality.shown as shows_nationality,
        to_sex.shown as shows_sex
    from combinations
    join shown as to_relation using (known_sex, known_nationality, known_age_band, known_relation)
    join shown as to_age
      on to_age.known_sex = combinations.known_sex and to_age.known_nationality = combinations.known_nationality
     and to_age.known_age_band = combinations.known_age_band and to_age.known_relation = '*'
    join shown as to_nationality
      on to_nationality.known_sex = combinations.known_sex
     and to_nationality.known_nationality = combinations.known_nationality
     and to_nationality.known_age_band = '*' and to_nationality.known_relation = '*'
    join shown as to_sex
      on to_sex.known_sex = combinations.known_sex and to_sex.known_nationality = '*'
     and to_sex.known_age_band = '*' and to_sex.known_relation = '*'
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

-- One row per need assessment (home visit) of a family.
--
-- A plain table: assessments are few (a visit per family every few months), and rebuilding them all costs about
-- what finding the changed ones did (docs/decisions.md, "Incremental where it pays").
{{ config(
    materialized='table',
    indexes=[{'columns': ['assessment_key'], 'unique': True}],
) }}

with assessments as (
    select * from {{ ref('stg_belediye__assessments') }}
),

sequenced as (
    select
        assessments.*,
        lag(next_visit_due) over (partition by household_key order by visit_date, assessment_id) as previous_due
    from assessments
)

select
    {{ record_pseudonym('belediye', 'assessment_id') }}::text as assessment_key,
    household_key::text as household_key,
    visit_date::date as visit_date,
    {{ half_year('visit_date') }}::text as half_year,
    need_score::integer as need_score,
    need_level::integer as need_level,
    next_visit_due::date as next_visit_due,
    (previous_due is not null and visit_date > previous_due)::boolean as was_late,
    greatest(visit_date - previous_due, 0)::integer as days_late
from sequenced

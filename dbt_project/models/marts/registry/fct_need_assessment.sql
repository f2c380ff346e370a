-- One row per need assessment (home visit) of a family.
--
-- Incremental (macros/incremental_current.sql): a build redoes every assessment of the families a delivery since the
-- previous one gave a new or corrected assessment (`was_late` compares each visit with the family's one before), and
-- keeps the others.
{{ config(
    materialized='incremental',
    unique_key='assessment_key',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['assessment_key'], 'unique': True}],
    post_hook=["{{ drop_rows_no_longer_current('fact.assessment_key', 'belediye', 'belediye__assessments', "
               "['assessment_id'], 'belediye') }}"],
) }}

with assessments as (
    select * from {{ ref('stg_belediye__assessments') }}
    {% if is_incremental() %}
    where household_key in (
        select household_key
        from ({{ rows_changed_since_last_build(ref('stg_belediye__assessments'), 'file_id', 'assessment_id',
                                               source('belediye', 'belediye__assessments'), 'assessment_id') }})
             as changed
        union
        -- a corrected assessment may have moved to another family, or gone: its former family is redone too
        {{ keys_superseded_since_last_build(source('belediye', 'belediye__assessments'), 'household_key') }}
    )
    {% endif %}
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
    greatest(visit_date - previous_due, 0)::integer as days_late,
    {{ built_through_file_id() }} as built_through_file_id
from sequenced

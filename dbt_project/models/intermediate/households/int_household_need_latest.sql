-- The latest need assessment of every family, and whether its next visit is overdue (plan need 1: "keep the
-- assessments current").
with assessments as (
    select * from {{ ref('stg_belediye__assessments') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

latest as (
    select distinct on (household_key)
        household_key, need_score, need_level, visit_date as assessed_on, next_visit_due
    from assessments
    order by household_key, visit_date desc, assessment_id desc
)

select
    latest.*,
    latest.next_visit_due < as_of.as_of_date as assessment_overdue,
    greatest(as_of.as_of_date - latest.next_visit_due, 0) as days_overdue
from latest
cross join as_of

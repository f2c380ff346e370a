-- The three-refusal rule (plan activity 4) per reporting period that has begun: persons and families with a
-- reduction step in force in the period, the municipal aid they were delivered while it was, and the reduction the
-- rule asks for on that aid. What was delivered is not known to be unreduced: the reduction due, not a loss.
with periods as (
    select period, period_kind, period_start, period_end from {{ ref('dim_period') }}
),

steps as (
    select person_key, household_key, step, step_start, step_end, reduction_pct
    from {{ ref('fct_sanction_schedule') }}
),

-- each step's municipal aid records, found once for the steps (where every municipal record was scanned here)
step_aid as (
    select person_key, step, delivered_on, amount_try from {{ ref('int_sanction_step_aid') }}
    where delivered_on is not null
),

in_force as (
    select periods.period, steps.*,
           greatest(steps.step_start, periods.period_start) as from_day,
           least(steps.step_end - 1, periods.period_end) as to_day
    from periods
    join steps on steps.step_start <= periods.period_end and steps.step_end > periods.period_start
),

aid_during as (
    select in_force.period, in_force.person_key, in_force.household_key,
           sum(step_aid.amount_try) as aid_try,
           sum(step_aid.amount_try * in_force.reduction_pct / 100) as reduction_due_try
    from in_force
    left join step_aid
      on step_aid.person_key = in_force.person_key and step_aid.step = in_force.step
     and step_aid.delivered_on between in_force.from_day and in_force.to_day
    group by in_force.period, in_force.person_key, in_force.household_key, in_force.step_start
),

per_period as (
    select period, count(distinct person_key) as persons, count(distinct household_key) as families,
           coalesce(sum(aid_try), 0) as aid_during_reduction_try, coalesce(sum(reduction_due_try), 0) as reduction_due_try
    from aid_during
    group by period
)

select
    periods.period::text as period,
    periods.period_kind::text as period_kind,
    coalesce(per_period.persons, 0)::integer as persons,
    coalesce(per_period.families, 0)::integer as families,
    coalesce(per_period.aid_during_reduction_try, 0)::numeric(16,2) as aid_during_reduction_try,
    coalesce(per_period.reduction_due_try, 0)::numeric(16,2) as reduction_due_try
from periods
left join per_period using (period)

-- The three-refusal rule's steps (seed `sanction_steps`), each with the municipal aid records delivered to the
-- household while it was in force: one row per step and record, a step without any once (no record). Read by
-- fct_sanction_schedule (per step) and rpt_sanction_period (per reporting period), which each scanned every municipal
-- record for the few sanctioned households (docs/decisions.md).
{{ config(materialized='table') }}
with third_refusals as (
    select distinct on (person_key)
        person_key, household_key, outcome_on as sanction_start
    from {{ ref('int_job_offer_refusals') }}
    where unexcused_refusal_number = 3 and person_key is not null
    order by person_key, outcome_on
),

steps as (
    select * from {{ ref('sanction_steps') }}
),

scheduled as (
    select
        third_refusals.person_key,
        third_refusals.household_key,
        third_refusals.sanction_start,
        steps.step,
        steps.reduction_pct,
        (third_refusals.sanction_start + make_interval(months => steps.starts_after_months))::date as step_start,
        (third_refusals.sanction_start + make_interval(months => steps.ends_after_months))::date as step_end
    from third_refusals
    cross join steps
),

-- the municipal aid records as int_aid_isas_status keeps them (a table: the staging view re-reads the raw history),
-- of the sanctioned households only: a few thousand, where hashing the million records cost most of the model
municipal_aid as (
    select household_key, delivered_on, amount_try from {{ ref('int_aid_isas_status') }}
    where household_key in (select household_key from third_refusals)
)

select
    scheduled.person_key,
    scheduled.household_key,
    scheduled.sanction_start,
    scheduled.step,
    scheduled.step_start,
    scheduled.step_end,
    scheduled.reduction_pct,
    municipal_aid.delivered_on,
    municipal_aid.amount_try
from scheduled
left join municipal_aid
  on municipal_aid.household_key = scheduled.household_key
 and municipal_aid.delivered_on >= scheduled.step_start
 and municipal_aid.delivered_on < scheduled.step_end

-- The three-refusal rule (plan activity 4): a referred beneficiary's third unexcused refusal starts a 12-month
-- graduated reduction of the household's aid, in the steps of seed `sanction_steps`. One row per sanction and step,
-- with the municipal aid actually delivered to the household in that step, so over-payment during a sanction shows.
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
    scheduled.person_key::text as person_key,
    scheduled.household_key::text as household_key,
    scheduled.sanction_start::date as sanction_start,
    scheduled.step::integer as step,
    scheduled.step_start::date as step_start,
    scheduled.step_end::date as step_end,
    scheduled.reduction_pct::numeric(5,2) as reduction_pct,
    count(municipal_aid.delivered_on)::integer as municipal_deliveries_in_step,
    coalesce(sum(municipal_aid.amount_try), 0)::numeric(14,2) as municipal_aid_try_in_step
from scheduled
left join municipal_aid
  on municipal_aid.household_key = scheduled.household_key
 and municipal_aid.delivered_on >= scheduled.step_start
 and municipal_aid.delivered_on < scheduled.step_end
group by 1, 2, 3, 4, 5, 6, 7

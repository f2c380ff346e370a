-- The three-refusal rule (plan activity 4): a referred beneficiary's third unexcused refusal starts a 12-month
-- graduated reduction of the household's aid, in the steps of seed `sanction_steps`. One row per sanction and step,
-- with the municipal aid actually delivered to the household in that step, so over-payment during a sanction shows.
with step_aid as (
    select * from {{ ref('int_sanction_step_aid') }}
)

select
    step_aid.person_key::text as person_key,
    step_aid.household_key::text as household_key,
    step_aid.sanction_start::date as sanction_start,
    step_aid.step::integer as step,
    step_aid.step_start::date as step_start,
    step_aid.step_end::date as step_end,
    step_aid.reduction_pct::numeric(5,2) as reduction_pct,
    count(step_aid.delivered_on)::integer as municipal_deliveries_in_step,
    coalesce(sum(step_aid.amount_try), 0)::numeric(14,2) as municipal_aid_try_in_step
from step_aid
group by 1, 2, 3, 4, 5, 6, 7

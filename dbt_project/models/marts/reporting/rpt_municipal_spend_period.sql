-- What the municipality's aid cost, per reporting period that has begun (half-years and years), beside the plan
-- card's cost estimate spread evenly over the plan's years. Only aid with an amount is valued (cash, card top-ups,
-- in-kind with a recorded amount); in-kind aid without one is counted, not valued. The sums are kept per period
-- incrementally (int_municipal_spend_per_period); the plan is joined here, so that an edit of it shows at once.
with periods as (
    select period, period_kind, year from {{ ref('dim_period') }}
),

plan as (
    select cost_estimate_try / (plan_end_year - plan_start_year + 1) as yearly_cost_estimate_try,
           plan_start_year, plan_end_year
    from {{ ref('plan_card') }}
),

spend as (
    select period, spend_try, deliveries_without_amount, year_to_date_spend_try
    from {{ ref('int_municipal_spend_per_period') }}
)

select
    periods.period::text as period,
    periods.period_kind::text as period_kind,
    periods.year::integer as year,
    coalesce(spend.spend_try, 0)::numeric(16,2) as spend_try,
    coalesce(spend.deliveries_without_amount, 0)::integer as deliveries_without_amount,
    coalesce(spend.year_to_date_spend_try, 0)::numeric(16,2) as year_to_date_spend_try,
    (case when periods.year between plan.plan_start_year and plan.plan_end_year
          then plan.yearly_cost_estimate_try end)::numeric(16,2) as yearly_cost_estimate_try
from periods
cross join plan
left join spend using (period)

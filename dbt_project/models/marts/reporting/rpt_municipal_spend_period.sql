-- What the municipality's aid cost, per reporting period that has begun (half-years and years), beside the plan
-- card's cost estimate spread evenly over the plan's years. Only aid with an amount is valued (cash, card top-ups,
-- in-kind with a recorded amount); in-kind aid without one is counted, not valued.
with periods as (
    select period, period_kind, year, period_start, period_end from {{ ref('dim_period') }}
),

plan as (
    select cost_estimate_try / (plan_end_year - plan_start_year + 1) as yearly_cost_estimate_try,
           plan_start_year, plan_end_year
    from {{ ref('plan_card') }}
),

municipal_aid as (
    select delivered_on, amount_try from {{ ref('fct_aid') }} where institution = 'belediye'
),

spend as (
    select
        periods.period,
        sum(municipal_aid.amount_try) filter (where municipal_aid.delivered_on >= periods.period_start)
            as spend_try,
        count(*) filter (where municipal_aid.delivered_on >= periods.period_start and municipal_aid.amount_try is null)
            as deliveries_without_amount,
        -- a half-year's report also reads the year so far
        sum(municipal_aid.amount_try) as year_to_date_spend_try
    from periods
    join municipal_aid
      on municipal_aid.delivered_on between make_date(periods.year, 1, 1) and periods.period_end
    group by periods.period
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

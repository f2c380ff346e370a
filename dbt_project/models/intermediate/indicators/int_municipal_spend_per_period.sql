-- The municipality's valued aid per reporting period that has begun, and the year so far, for
-- rpt_municipal_spend_period (which adds the plan card's estimate, so that an edit of the plan shows at once).
--
-- Incremental by period (macros/incremental_current.sql): a build redoes the periods that end on or after the
-- earliest day its changes touch, each from the first day of its year, and keeps the others.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['period'], 'unique': True}],
    pre_hook=["{{ delete_periods_to_rebuild() }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day() %}

with periods as (
    select period, year, period_start, period_end from {{ ref('int_periods') }}
    where period in ({{ periods_to_rebuild(rebuilt_from_day) }})
),

municipal_aid as (
    select delivered_on, amount_try from {{ ref('fct_aid') }}
    where institution = 'belediye' and delivered_on >= {{ rebuilt_periods_start(rebuilt_from_day) }}
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
    periods.period,
    coalesce(spend.spend_try, 0) as spend_try,
    coalesce(spend.deliveries_without_amount, 0) as deliveries_without_amount,
    coalesce(spend.year_to_date_spend_try, 0) as year_to_date_spend_try,
    {{ built_through_file_id() }} as built_through_file_id
from periods
left join spend using (period)

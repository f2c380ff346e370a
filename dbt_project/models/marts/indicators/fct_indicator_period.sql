-- One row per indicator per period: the plan card's table as data, for BI and the directorate's reports.
with actuals as (
    select * from {{ ref('int_indicator_actuals') }}
),

periods as (
    select * from {{ ref('int_periods') }}
),

indicators as (
    select * from {{ ref('plan_indicators') }}
),

targets as (
    select * from {{ ref('plan_targets') }}
),

joined as (
    select
        actuals.indicator_code,
        actuals.period,
        periods.period_kind,
        periods.year,
        periods.period_start,
        periods.period_end,
        periods.is_closed,
        periods.data_through,
        periods.latest_delivery_on,
        -- the day from which the value waits for no more data: the period's end, and for PG4.1.5 the ISAS cut-off
        periods.period_end + case when actuals.indicator_code = 'PG4.1.5' then {{ var('isas_grace_days') }} else 0 end
            as final_from,
        actuals.actual_value,
        actuals.numerator,
        actuals.denominator,
        indicators.unit,
        indicators.is_rate,
        indicators.baseline_value,
        targets.target_value,
        indicators.weight_pct
    from actuals
    join periods using (period)
    join indicators using (indicator_code)
    left join targets on targets.indicator_code = actuals.indicator_code and targets.year = periods.year
),

scored as (
    select
        *,
        -- (actual − baseline) / (target − baseline) where a baseline exists, actual / target otherwise; not capped.
        round(case
            when target_value is null or actual_value is null then null
            when baseline_value is not null and target_value <> baseline_value
                then 100.0 * (actual_value - baseline_value) / (target_value - baseline_value)
            when baseline_value is null and target_value <> 0
                then 100.0 * actual_value / target_value
        end, 2) as achievement_pct
    from joined
)

select
    indicator_code::text as indicator_code,
    period::text as period,
    period_kind::text as period_kind,
    year::integer as year,
    period_start::date as period_start,
    period_end::date as period_end,
    is_closed::boolean as is_closed,
    data_through::date as data_through,
    final_from::date as final_from,
    coalesce(latest_delivery_on >= final_from, false)::boolean as is_final,
    actual_value::numeric as actual_value,
    numerator::numeric as numerator,
    denominator::numeric as denominator,
    unit::text as unit,
    is_rate::boolean as is_rate,
    baseline_value::numeric as baseline_value,
    target_value::numeric as target_value,
    weight_pct::numeric as weight_pct,
    achievement_pct::numeric as achievement_pct,
    -- for a chart: the achievement within 0–100 %, and what the raw figure means when it is outside
    least(greatest(achievement_pct, 0), 100)::numeric as achievement_capped_pct,
    (case
        when actual_value is null then 'not_measured'
        when target_value is null then 'no_target'
        when achievement_pct < 0 then 'below_baseline'
        when achievement_pct > 100 then 'above_target'
        else 'within_range'
    end)::text as achievement_flag
from scored

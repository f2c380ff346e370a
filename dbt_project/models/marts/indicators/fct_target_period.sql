-- Target H4.1's weighted achievement per period: Σ weight × clamp(achievement, 0, 100) / 100.
with indicator_periods as (
    select * from {{ ref('fct_indicator_period') }}
),

weighted as (
    select
        'H4.1'::text as target_code,
        period,
        min(period_kind) as period_kind,
        min(year) as year,
        bool_and(is_closed) as is_closed,
        min(data_through) as data_through,
        sum(weight_pct) as weight_total_pct,
        count(achievement_pct) as indicators_with_target,
        round(sum(weight_pct * least(greatest(achievement_pct, 0), 100)) / 100.0, 2) as weighted_achievement_pct
    from indicator_periods
    group by period
)

select
    target_code::text as target_code,
    period::text as period,
    period_kind::text as period_kind,
    year::integer as year,
    is_closed::boolean as is_closed,
    data_through::date as data_through,
    weight_total_pct::numeric as weight_total_pct,
    indicators_with_target::integer as indicators_with_target,
    weighted_achievement_pct::numeric as weighted_achievement_pct
from weighted

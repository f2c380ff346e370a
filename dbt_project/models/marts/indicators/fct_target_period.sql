-- Target H4.1's weighted achievement per period: Σ weight × clamp(achievement, 0, 100) / Σ weight, over the
-- indicators that have an achievement in the period. An indicator not measured (no survey in a half-year, no target
-- for the year) is left out and the others' weights re-normalised, rather than counted as 0; the period is then
-- marked incomplete (`is_complete`, `measured_weight_pct` < 100), and the reports say so.
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
        coalesce(sum(weight_pct) filter (where achievement_pct is not null), 0) as measured_weight_pct,
        round(sum(weight_pct * least(greatest(achievement_pct, 0), 100))
              / nullif(sum(weight_pct) filter (where achievement_pct is not null), 0), 2) as weighted_achievement_pct
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
    measured_weight_pct::numeric as measured_weight_pct,
    (measured_weight_pct = weight_total_pct)::boolean as is_complete,
    weighted_achievement_pct::numeric as weighted_achievement_pct
from weighted

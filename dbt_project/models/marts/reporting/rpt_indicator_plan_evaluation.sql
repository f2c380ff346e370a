-- The değerlendirme report's evaluation of the plan, per indicator and year: the year's value against its target,
-- the change from the year before, and whether the plan's end target is on track — the yearly change still needed
-- to reach it against the average yearly change the indicator has shown since its first measured year. Every
-- indicator of the card rises toward its target. A target missed by half, or beaten twice over, in two closed
-- years running is flagged for revision.
with years as (
    select * from {{ ref('fct_indicator_period') }} where period_kind = 'year'
),

plan as (
    select plan_end_year from {{ ref('plan_card') }}
),

end_targets as (
    select targets.indicator_code, targets.target_value as end_target
    from {{ ref('plan_targets') }} as targets
    cross join plan
    where targets.year = plan.plan_end_year
),

history as (
    select
        years.*,
        lag(years.actual_value) over by_year as previous_value,
        lag(years.achievement_pct) over by_year as previous_achievement_pct,
        lag(years.is_closed) over by_year as previous_is_closed,
        first_value(years.actual_value) over by_year as first_value,
        first_value(years.year) over by_year as first_year
    from years
    window by_year as (partition by years.indicator_code order by years.year)
),

measured as (
    select
        history.*,
        end_targets.end_target,
        plan.plan_end_year,
        case when history.year > history.first_year
             then (history.actual_value - history.first_value) / (history.year - history.first_year) end
            as average_yearly_change,
        case when plan.plan_end_year > history.year
             then (end_targets.end_target - history.actual_value) / (plan.plan_end_year - history.year) end
            as yearly_change_needed
    from history
    cross join plan
    left join end_targets using (indicator_code)
)

select
    indicator_code::text as indicator_code,
    year::integer as year,
    is_closed::boolean as is_closed,
    actual_value::numeric as actual_value,
    target_value::numeric as target_value,
    achievement_pct::numeric as achievement_pct,
    previous_value::numeric as previous_value,
    (actual_value - previous_value)::numeric as change_from_previous_year,
    end_target::numeric as end_target,
    plan_end_year::integer as plan_end_year,
    round(average_yearly_change, 2)::numeric as average_yearly_change,
    round(yearly_change_needed, 2)::numeric as yearly_change_needed,
    (case
        when actual_value is null then 'olculmedi'
        when end_target is null then 'hedef_yok'
        when actual_value >= end_target then 'hedefe_ulasildi'
        when year >= plan_end_year then 'hedefe_ulasilamadi'
        when average_yearly_change is null then 'degerlendirilemez'
        when average_yearly_change >= yearly_change_needed then 'yolunda'
        else 'risk_altinda'
    end)::text as end_target_status,
    coalesce(is_closed and previous_is_closed
             and (achievement_pct < 50 or achievement_pct >= 200)
             and (previous_achievement_pct < 50 or previous_achievement_pct >= 200), false)::boolean
        as revision_suggested
from measured

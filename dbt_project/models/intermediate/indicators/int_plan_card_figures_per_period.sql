-- The figures of rpt_plan_card_items_period per reporting period that has begun (half-years and years) and
-- measure: families and persons counted once per period, so a year's count is not the sum of its half-years'. The
-- plan card's items are joined in rpt_plan_card_items_period, so that an edit of the card shows at once.
--
-- Incremental by period (macros/incremental_current.sql): a build redoes the periods that end on or after the
-- earliest day its changes touch, and those whose PG4.1.4 or PG4.1.5 changed (fct_indicator_period: the indicators
-- have rules of their own for what a delivery changes); it keeps the others.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['period', 'measure_code'], 'unique': True}],
    pre_hook=["{{ delete_periods_to_rebuild(also_changed_on=plan_card_indicators_changed_on()) }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day(also_changed_on=plan_card_indicators_changed_on()) %}

with periods as (
    select period, period_kind, year, period_start, period_end from {{ ref('int_periods') }}
    where period in ({{ periods_to_rebuild(rebuilt_from_day) }})
),

period_half_years as (
    select period, half_year from {{ ref('int_period_half_years') }}
    where period in (select period from periods)
),

-- the state at a period's end is the state of its last half-year
period_last_half_year as (
    select period, max(half_year) as half_year from period_half_years group by period
),

-- one row per family and period first (a year holds its two half-years), each condition "in any of them": plain
-- counts then count families, where four distinct counts would each sort the period's rows again
family_periods as (
    select
        period_half_years.period,
        families.household_key,
        bool_or(families.municipal_deliveries > 0 and families.school_age_children > 0)
            as aided_with_school_age_children,
        bool_or(families.municipal_deliveries > 0
                and families.school_age_children_in_school < families.school_age_children)
            as aided_with_a_child_out_of_school,
        bool_or(families.aiding_institutions > 0) as aided,
        bool_or(families.aiding_institutions > 0 and state.protection_status <> 'none') as aided_under_protection
    from {{ ref('fct_household_half_year') }} as families
    join {{ ref('int_household_state_half_year') }} as state using (household_key, half_year)
    join period_half_years using (half_year)
    where families.half_year >= (select min(half_year) from period_half_years)
    group by period_half_years.period, families.household_key
),

families as (
    select
        period,
        count(*) filter (where aided_with_school_age_children) as aided_with_school_age_children,
        count(*) filter (where aided_with_a_child_out_of_school) as aided_with_a_child_out_of_school,
        count(*) filter (where aided) as aided,
        count(*) filter (where aided_under_protection) as aided_under_protection
    from family_periods
    group by period
),

assessments as (
    select
        period_last_half_year.period,
        100.0 * count(*) filter (where families.assessment_overdue) / nullif(count(*), 0) as overdue_pct
    from {{ ref('fct_household_half_year') }} as families
    join period_last_half_year using (half_year)
    where families.household_status = 'active'
    group by period_last_half_year.period
),

-- the deliveries summed per half-year and institution first, Social Market families kept apart (their count is of
-- families): the periods then sum a few hundred rows, where a distinct count of institutions sorted every delivery
aid_half_years as (
    select
        aid.half_year,
        aid.institution,
        case when aid.institution = 'belediye' and aid.aid_type = 'sosyal_market' then aid.household_key end
            as social_market_family,
        sum(aid.amount_try) as amount_try,
        sum(aid.amount_try) filter (where aid.aid_type = 'egitim') as education_try,
        sum(aid.amount_try) filter (where aid.channel = 'kart') as card_try,
        sum(aid.amount_try) filter (where aid.aid_type = 'sosyal_market') as social_market_try,
        count(*) as deliveries,
        count(*) filter (where aid.link_method = 'unlinked') as unlinked
    from {{ ref('fct_aid') }} as aid
    where aid.delivered_on >= {{ rebuilt_periods_start(rebuilt_from_day) }}
    group by 1, 2, 3
),

aid as (
    select
        period_half_years.period,
        count(distinct aid.institution) as institutions,
        sum(aid.education_try) filter (where aid.institution = 'belediye') as education_aid_try,
        sum(aid.amount_try) filter (where aid.institution <> 'belediye') as other_institutions_try,
        100.0 * sum(aid.card_try) filter (where aid.institution = 'belediye')
            / nullif(sum(aid.amount_try) filter (where aid.institution = 'belediye'), 0) as card_share_pct,
        count(distinct aid.social_market_family) as social_market_families,
        sum(aid.social_market_try) filter (where aid.institution = 'belediye') as social_market_try,
        100.0 * (sum(aid.unlinked) filter (where aid.institution like 'stk:%'))::bigint
            / nullif((sum(aid.deliveries) filter (where aid.institution like 'stk:%'))::bigint, 0) as ngo_unlinked_pct
    from aid_half_years as aid
    join period_half_years using (half_year)
    group by period_half_years.period
),

services as (
    select periods.period, count(*) as child_services_active
    from {{ ref('fct_social_service') }} as services
    join periods
      on services.opened_on <= periods.period_end
     and (services.closed_on is null or services.closed_on >= periods.period_start)
    where services.service_type in ('cocuk_koruma', 'egitim_destek')
    group by periods.period
),

offers as (
    select
        period_half_years.period,
        100.0 * count(*) filter (where offers.outcome = 'kabul') / nullif(count(*), 0) as acceptance_pct
    from {{ ref('fct_job_offer') }} as offers
    join period_half_years using (half_year)
    where offers.outcome is not null
    group by period_half_years.period
),

sanctions as (
    select
        periods.period,
        count(distinct schedule.person_key) as persons_under_reduction,
        count(distinct schedule.person_key)
            filter (where schedule.step = 1 and schedule.step_start between periods.period_start and periods.period_end)
            as persons_refused_third_time
    from {{ ref('fct_sanction_schedule') }} as schedule
    join periods on schedule.step_start <= periods.period_end and schedule.step_end > periods.period_start
    group by periods.period
),

indicators as (
    select
        period,
        max(actual_value) filter (where indicator_code = 'PG4.1.4') as persons_referred,
        max(actual_value) filter (where indicator_code = 'PG4.1.5') as isas_entry_pct
    from {{ ref('fct_indicator_period') }}
    where period in (select period from periods)
    group by period
),

dependency as (
    select period_last_half_year.period, risks.families_aided_six_half_years
    from {{ ref('fct_risk_monitor_half_year') }} as risks
    join period_last_half_year using (half_year)
),

figures as (
    select
        periods.period,
        measure.measure_code,
        measure.value,
        measure.cost_try
    from periods
    left join families using (period)
    left join assessments using (period)
    left join aid using (period)
    left join services using (period)
    left join offers using (period)
    left join sanctions using (period)
    left join indicators using (period)
    left join dependency using (period)
    cross join lateral (values
        ('child_services_active', coalesce(services.child_services_active, 0)::numeric, aid.education_aid_try),
        ('children_out_of_school_pct', 100.0 * families.aided_with_a_child_out_of_school
                                       / nullif(families.aided_with_school_age_children, 0), null),
        ('institutions_aiding', coalesce(aid.institutions, 0)::numeric, aid.other_institutions_try),
        ('persons_referred', indicators.persons_referred, null),
        ('persons_under_reduction', coalesce(sanctions.persons_under_reduction, 0)::numeric, null),
        ('isas_entry_pct', indicators.isas_entry_pct, null),
        ('assessment_overdue_pct', assessments.overdue_pct, null),
        ('card_share_pct', aid.card_share_pct, null),
        ('social_market_families', coalesce(aid.social_market_families, 0)::numeric, aid.social_market_try),
        ('families_aided_six_half_years', dependency.families_aided_six_half_years::numeric, null),
        ('offer_acceptance_pct', offers.acceptance_pct, null),
        ('persons_refused_third_time', coalesce(sanctions.persons_refused_third_time, 0)::numeric, null),
        ('ngo_unlinked_pct', aid.ngo_unlinked_pct, null),
        ('refugee_share_pct', 100.0 * families.aided_under_protection / nullif(families.aided, 0), null)
    ) as measure (measure_code, value, cost_try)
)

select period, measure_code, value, cost_try, {{ built_through_file_id() }} as built_through_file_id
from figures

-- Targeting and the A4 bridge per mahalle and reporting period that has begun (half-years and years), as
-- fct_targeting_half_year defines them, with each family counted once per period: needy (need level ≥ 4 in some
-- half-year of it), needy and not aided (in a half-year it was needy), aided though assessed as not needy, aided
-- for one need by more than one institution, and the share of aided families that also had a social service.
--
-- Incremental by period, as rpt_aid_by_institution_period: the per-family half-years it reads are redone from the
-- same day (families_rebuilt_from_day).
-- depends_on: {{ ref('fct_aid') }}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['period', 'mahalle_code'], 'unique': True}],
    pre_hook=["{{ delete_periods_to_rebuild() }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day() %}

with rebuilt_periods as (
    {{ periods_to_rebuild(rebuilt_from_day) }}
),

rebuilt_half_years as (
    {{ half_years_from(rebuilt_periods_start(rebuilt_from_day)) }}
),

families as (
    select families.household_key, families.half_year, families.need_level, families.aiding_institutions,
           families.overlapping_need_categories, families.services_active, state.mahalle_code
    from {{ ref('fct_household_half_year') }} as families
    join {{ ref('int_household_state_half_year') }} as state using (household_key, half_year)
    where families.household_status = 'active'
      and families.half_year in (select half_year from rebuilt_half_years)
),

-- A year holds a family's two half-years: its rows are first made one per period and mahalle, each condition
-- "in any of its half-years there", so that plain counts count families — seven distinct counts would each sort
-- the period's rows again.
family_periods as (
    select
        periods.period,
        periods.period_kind,
        families.mahalle_code,
        families.household_key,
        bool_or(families.need_level >= 4) as needy,
        bool_or(families.need_level >= 4 and families.aiding_institutions = 0) as needy_without_aid,
        bool_or(families.aiding_institutions > 0) as aided,
        bool_or(families.aiding_institutions > 0 and families.need_level <= 2) as aided_not_needy,
        bool_or(families.overlapping_need_categories > 0) as with_overlapping_aid,
        bool_or(families.aiding_institutions > 0 and families.services_active > 0) as aided_with_service
    from families
    join {{ ref('int_period_half_years') }} as periods using (half_year)
    where periods.period in (select period from rebuilt_periods)
    group by periods.period, periods.period_kind, families.mahalle_code, families.household_key
),

per_period as (
    select
        period,
        period_kind,
        mahalle_code,
        count(*) as active_families,
        count(*) filter (where needy) as needy_families,
        count(*) filter (where needy_without_aid) as needy_families_without_aid,
        count(*) filter (where aided) as aided_families,
        count(*) filter (where aided_not_needy) as aided_families_not_needy,
        count(*) filter (where with_overlapping_aid) as families_with_overlapping_aid,
        count(*) filter (where aided_with_service) as aided_families_with_service
    from family_periods
    group by period, period_kind, mahalle_code
)

select
    period::text as period,
    period_kind::text as period_kind,
    mahalle_code::text as mahalle_code,
    active_families::integer as active_families,
    needy_families::integer as needy_families,
    needy_families_without_aid::integer as needy_families_without_aid,
    aided_families::integer as aided_families,
    aided_families_not_needy::integer as aided_families_not_needy,
    families_with_overlapping_aid::integer as families_with_overlapping_aid,
    aided_families_with_service::integer as aided_families_with_service,
    round(100.0 * aided_families_with_service / nullif(aided_families, 0), 1)::numeric(5,1) as bridge_rate_pct,
    {{ built_through_file_id() }} as built_through_file_id
from per_period

-- Aid per giving institution and reporting period that has begun (half-years and years): deliveries, families
-- (each counted once per period), the amount where one is known, and the share of deliveries not linked to a
-- registered family.
--
-- Incremental by period (macros/incremental_current.sql): a build redoes the periods that end on or after the
-- earliest day its changes touch (a daily delivery: the current half-year and year) and keeps the others.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['period', 'institution'], 'unique': True}],
    pre_hook=["{{ delete_periods_to_rebuild() }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day() %}

with rebuilt_periods as (
    {{ periods_to_rebuild(rebuilt_from_day) }}
),

aid as (
    select institution, household_key, amount_try, link_method, half_year from {{ ref('fct_aid') }}
    where delivered_on >= {{ rebuilt_periods_start(rebuilt_from_day) }}
),

-- each family's aid from an institution in a half-year, summed first: a family has many deliveries, and the
-- distinct count below then sorts one row per family instead of one per delivery
per_family_half_year as (
    select
        institution,
        half_year,
        household_key,
        count(*) as deliveries,
        sum(amount_try) as amount_try,
        count(*) filter (where link_method = 'unlinked') as unlinked
    from aid
    group by institution, half_year, household_key
),

per_period as (
    select
        periods.period,
        periods.period_kind,
        families.institution,
        sum(families.deliveries) as deliveries,
        count(distinct families.household_key) as families,
        sum(families.amount_try) as amount_try,
        sum(families.unlinked) as unlinked
    from per_family_half_year as families
    join {{ ref('int_period_half_years') }} as periods using (half_year)
    where periods.period in (select period from rebuilt_periods)
    group by periods.period, periods.period_kind, families.institution
)

select
    period::text as period,
    period_kind::text as period_kind,
    institution::text as institution,
    deliveries::integer as deliveries,
    families::integer as families,
    amount_try::numeric(16,2) as amount_try,
    round(100.0 * unlinked / deliveries, 1)::numeric(5,1) as unlinked_pct,
    {{ built_through_file_id() }} as built_through_file_id
from per_period

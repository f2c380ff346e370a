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
    select institution, household_key, amount_try, link_method, half_year, left(half_year, 4) as year
    from {{ ref('fct_aid') }}
    where delivered_on >= {{ rebuilt_periods_start(rebuilt_from_day) }}
),

-- each family's aid from an institution in each half-year and each year (a year is `2024`, its half-years
-- `2024-H1`/`2024-H2`), in one hashed pass over the deliveries: the periods' families are then rows to count, where a
-- count(distinct …) per period sorted every family's row by four text keys, the build's slowest sort at ten districts
per_family_period as (
    select
        coalesce(half_year, year) as period,
        institution,
        household_key,
        count(*) as deliveries,
        sum(amount_try) as amount_try,
        count(*) filter (where link_method = 'unlinked') as unlinked
    from aid
    group by institution, household_key, grouping sets ((half_year), (year))
),

per_period as (
    select
        periods.period,
        periods.period_kind,
        families.institution,
        sum(families.deliveries) as deliveries,
        -- the deliveries no family was found for make one row without a family
        count(families.household_key) as families,
        sum(families.amount_try) as amount_try,
        sum(families.unlinked) as unlinked
    from per_family_period as families
    join {{ ref('int_periods') }} as periods using (period)
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

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

-- read twice, by two different groupings, rather than stored
aid as not materialized (
    select institution, household_key, amount_try, link_method, half_year
    from {{ ref('fct_aid') }}
    where delivered_on >= {{ rebuilt_periods_start(rebuilt_from_day) }}
),

-- deliveries, amounts and the unlinked need no family: summed per institution and half-year straight away
per_half_year as (
    select
        half_year,
        institution,
        count(*) as deliveries,
        sum(amount_try) as amount_try,
        count(*) filter (where link_method = 'unlinked') as unlinked
    from aid
    group by half_year, institution
),

-- a year is `2024`, its half-years `2024-H1`/`2024-H2`
per_period_sums as (
    select half_year as period, institution, deliveries, amount_try, unlinked
    from per_half_year
    union all
    select left(half_year, 4), institution, sum(deliveries), sum(amount_try), sum(unlinked)
    from per_half_year
    group by left(half_year, 4), institution
),

-- each family an institution aided in a year, once, with the half-years it was aided in: the one grouping by family,
-- and one whose state is two flags. A count(distinct …) per period sorted every family's row by four text keys, and
-- `grouping sets` over half-year and year grouped the deliveries by family twice, sorting all 18 M of ten districts'
-- to disk.
family_years as (
    select
        left(half_year, 4) as year,
        institution,
        bool_or(half_year like '%-H1') as aided_in_h1,
        bool_or(half_year like '%-H2') as aided_in_h2
    from aid
    where household_key is not null
    group by left(half_year, 4), institution, household_key
),

per_period_families as (
    select figures.period, per_year.institution, figures.families
    from (
        select
            year,
            institution,
            count(*) as families,
            count(*) filter (where aided_in_h1) as families_h1,
            count(*) filter (where aided_in_h2) as families_h2
        from family_years
        group by year, institution
    ) as per_year
    cross join lateral (values
        (per_year.year, per_year.families),
        (per_year.year || '-H1', per_year.families_h1),
        (per_year.year || '-H2', per_year.families_h2)
    ) as figures (period, families)
),

per_period as (
    select
        periods.period,
        periods.period_kind,
        sums.institution,
        sums.deliveries,
        coalesce(families.families, 0) as families,
        sums.amount_try,
        sums.unlinked
    from per_period_sums as sums
    join {{ ref('int_periods') }} as periods using (period)
    left join per_period_families as families using (period, institution)
    where periods.period in (select period from rebuilt_periods)
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

-- The counts behind the plan card's risk monitors, per half-year: what fct_risk_monitor_half_year turns into shares
-- (it adds the plan's budget, so that an edit of the plan shows at once).
--
-- Incremental by half-year, as fct_household_half_year, which it reads: a build redoes the half-years from the same
-- day on. A half-year looks back five half-years (aided in each of the last six; need level two years before), so
-- the family rows of the five before the first redone one are read too, and only the redone ones written.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['half_year'], 'unique': True}],
    pre_hook=["{{ delete_half_years_to_rebuild() }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day() %}

with rebuilt_half_years as (
    {{ half_years_from(rebuilt_from_day) }}
),

-- half-years numbered on the calendar (year × 2 + 0 for H1, 1 for H2), so "the last six" are consecutive ones.
-- The `exists` is a one-time filter: when the redone half-years hold no family yet (the first days of a half-year,
-- before a change of a family's state reaches it), the five before are not read for nothing (4.3 s at ten districts).
numbered as (
    select families.*, {{ half_year_number('families.half_year') }} as half_year_number
    from {{ ref('fct_household_half_year') }} as families
    where families.half_year >= (
        select coalesce(min(half_year), '9999')
        from ({{ half_years_from(rebuilt_from_day ~ " - interval '30 months'") }}) five_before
    )
      and exists (select 1 from {{ ref('fct_household_half_year') }} as redone
                  where redone.half_year >= (select coalesce(min(half_year), '9999') from rebuilt_half_years))
),

-- One pass over each family's half-years: aided in all of the six half-years up to this one (a missing half-year
-- breaks the run), and the need level exactly four half-years (two years) earlier. The family's row comes along,
-- so the counts below read this pass alone (a join back to `numbered` cost a third of the model).
history as (
    select
        numbered.*,
        count(*) filter (where municipal_deliveries > 0) over (
            partition by household_key order by half_year_number range between 5 preceding and current row
        ) as aided_of_last_six,
        first_value(need_level) over (
            partition by household_key order by half_year_number range between 4 preceding and 4 preceding
        ) as need_level_two_years_before
    from numbered
)

select
    half_year::text as half_year,
    (count(*) filter (where aiding_institutions > 0))::integer as aided_families,
    (count(*) filter (where municipal_deliveries > 0))::integer as municipally_aided_families,
    (count(*) filter (where municipal_deliveries > 0 and aided_of_last_six = 6))::integer
        as families_aided_six_half_years,
    sum(municipal_aid_try)::numeric(16,2) as municipal_spend_try,
    (count(*) filter (where need_level >= 4 and aiding_institutions = 0))::integer as needy_families_without_aid,
    (count(*) filter (where aiding_institutions > 0 and services_active > 0))::integer as aided_families_with_service,
    (count(*) filter (where aiding_institutions > 0 and protection_status <> 'none'))::integer
        as aided_families_under_protection,
    (count(*) filter (where municipal_deliveries > 0 and need_level_two_years_before is not null))::integer
        as aided_families_assessed_2y_ago,
    (count(*) filter (where municipal_deliveries > 0 and need_level >= need_level_two_years_before))::integer
        as aided_families_not_improved,
    {{ built_through_file_id() }} as built_through_file_id
from history
-- the family's protection status for the redone half-years' rows only, not for the five before them
join (select household_key, half_year, protection_status from {{ ref('int_household_state_half_year') }}) as state
    using (household_key, half_year)
where half_year in (select half_year from rebuilt_half_years)
group by half_year

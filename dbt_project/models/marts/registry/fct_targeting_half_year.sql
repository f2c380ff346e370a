-- Targeting and the A4 bridge, per half-year and mahalle: needy families (need level ≥ 4) that no institution
-- aided (exclusion), aid to families assessed as not needy (level ≤ 2: inclusion), families aided by more than one
-- institution for the same need (overlap), and the share of aided families that also received a social service.
--
-- Incremental by half-year, as fct_household_half_year, which it reads: a build redoes the half-years from the same
-- day on and keeps the others (as a table, each day's build grouped all 6.4 M family half-years of ten districts
-- again: 6 s).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['half_year', 'mahalle_code'], 'unique': True}],
    pre_hook=["{{ delete_half_years_to_rebuild() }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day() %}

with families as (
    select families.*, state.mahalle_code
    from {{ ref('fct_household_half_year') }} as families
    join {{ ref('int_household_state_half_year') }} as state using (household_key, half_year)
    where families.household_status = 'active'
      and families.half_year in ({{ half_years_from(rebuilt_from_day) }})
)

select
    half_year::text as half_year,
    mahalle_code::text as mahalle_code,
    count(*)::integer as active_families,
    count(*) filter (where need_level >= 4)::integer as needy_families,
    count(*) filter (where need_level >= 4 and aiding_institutions = 0)::integer as needy_families_without_aid,
    count(*) filter (where aiding_institutions > 0)::integer as aided_families,
    count(*) filter (where aiding_institutions > 0 and need_level <= 2)::integer as aided_families_not_needy,
    count(*) filter (where overlapping_need_categories > 0)::integer as families_with_overlapping_aid,
    count(*) filter (where aiding_institutions > 0 and services_active > 0)::integer as aided_families_with_service,
    round(100.0 * count(*) filter (where aiding_institutions > 0 and services_active > 0)
          / nullif(count(*) filter (where aiding_institutions > 0), 0), 2)::numeric(5,2) as bridge_rate_pct,
    {{ built_through_file_id() }} as built_through_file_id
from families
group by half_year, mahalle_code

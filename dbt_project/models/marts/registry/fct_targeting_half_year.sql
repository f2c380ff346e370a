-- Targeting and the A4 bridge, per half-year and mahalle: needy families (need level ≥ 4) that no institution
-- aided (exclusion), aid to families assessed as not needy (level ≤ 2: inclusion), families aided by more than one
-- institution for the same need (overlap), and the share of aided families that also received a social service.
with families as (
    select families.*, state.mahalle_code
    from {{ ref('fct_household_half_year') }} as families
    join {{ ref('int_household_state_half_year') }} as state using (household_key, half_year)
    where families.household_status = 'active'
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
          / nullif(count(*) filter (where aiding_institutions > 0), 0), 2)::numeric(5,2) as bridge_rate_pct
from families
group by half_year, mahalle_code

-- One row per family and half-year: the family as it was at the half-year's end (status, need level from the latest
-- assessment by then), the aid it received from each institution, services, school-age children in
-- school, employment referrals, and the three-refusal sanction with the municipal aid delivered during it. All but the
-- aid comes from int_household_state_half_year, built beside fct_aid; this model adds the aid once fct_aid is built.
-- Where the family lived, its size and protection status are dim_household's, coarsened there so that no family
-- stands out (k-anonymity): repeated here, per half-year and exact, they would give back what it hides.
--
-- Incremental by half-year (macros/incremental_current.sql): a build redoes the half-years from the earliest day its
-- new deliveries touch onwards (a daily delivery: the current half-year) and keeps the others. The pre-hook deletes
-- the half-years it redoes, so their rows are appended (a delete by key after it would find nothing, at a cost).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['household_key', 'half_year'], 'unique': True}],
    pre_hook=["{{ delete_half_years_to_rebuild() }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day() %}

with rebuilt_half_years as (
    {{ half_years_from(rebuilt_from_day) }}
),

families_then as (
    select state.* from {{ ref('int_household_state_half_year') }} as state
    where state.half_year >= (select coalesce(min(half_year), '9999') from rebuilt_half_years)
),

-- Aid per family and half-year in one sorted pass over fct_aid: count(distinct institution) makes PostgreSQL sort the
-- deliveries by family, half-year and institution and aggregate them as they come. Two hashed levels (per institution,
-- then per family) held 9 M and 5 M groups at ten districts and spilled both: 64 s against 26 s sorted.
aid as (
    select household_key, half_year,
        count(*) filter (where institution = 'belediye') as municipal_deliveries,
        coalesce(sum(amount_try) filter (where institution = 'belediye'), 0) as municipal_aid_try,
        count(*) filter (where institution like 'stk:%') as ngo_deliveries,
        coalesce(sum(amount_try) filter (where institution like 'stk:%'), 0) as ngo_aid_try,
        count(*) filter (where institution = 'devlet:sydv') as state_deliveries,
        coalesce(sum(amount_try) filter (where institution = 'devlet:sydv'), 0) as state_aid_try,
        count(distinct institution) as institutions
    from {{ ref('fct_aid') }}
    where household_key is not null and delivered_on >= {{ rebuilt_from_day }}
    group by household_key, half_year
),

-- need categories more than one institution covered in the half-year; sorted, like the aid above (hashed: 12 M
-- groups of family, half-year and category at ten districts, 35 s against 23 s)
overlap as (
    select household_key, half_year, count(*) as overlapping_need_categories
    from (
        select household_key, half_year, need_category
        from {{ ref('fct_aid') }}
        where household_key is not null and delivered_on >= {{ rebuilt_from_day }}
        group by household_key, half_year, need_category
        having count(distinct institution) > 1
    ) categories
    group by household_key, half_year
),

-- The half-year's own municipal aid delivered on a day a reduction step was in force (a step that spans two
-- half-years counts its aid in each where it was delivered, so a later delivery changes only its own half-year).
aid_during_sanction as (
    select aid.household_key, aid.half_year, sum(aid.amount_try) as municipal_aid_try_during_sanction
    from {{ ref('fct_aid') }} as aid
    where aid.institution = 'belediye' and aid.delivered_on >= {{ rebuilt_from_day }}
      and exists (
          select 1 from {{ ref('fct_sanction_schedule') }} as schedule
          where schedule.household_key = aid.household_key
            and aid.delivered_on >= schedule.step_start and aid.delivered_on < schedule.step_end
      )
    group by aid.household_key, aid.half_year
)

select
    families_then.household_key::text as household_key,
    families_then.half_year::text as half_year,
    families_then.household_status::text as household_status,
    families_then.need_level::integer as need_level,
    families_then.assessment_overdue::boolean as assessment_overdue,
    coalesce(aid.municipal_deliveries, 0)::integer as municipal_deliveries,
    coalesce(aid.municipal_aid_try, 0)::numeric(14,2) as municipal_aid_try,
    coalesce(aid.ngo_deliveries, 0)::integer as ngo_deliveries,
    coalesce(aid.ngo_aid_try, 0)::numeric(14,2) as ngo_aid_try,
    coalesce(aid.state_deliveries, 0)::integer as state_deliveries,
    coalesce(aid.state_aid_try, 0)::numeric(14,2) as state_aid_try,
    coalesce(aid.institutions, 0)::integer as aiding_institutions,
    coalesce(overlap.overlapping_need_categories, 0)::integer as overlapping_need_categories,
    families_then.services_opened::integer as services_opened,
    families_then.services_active::integer as services_active,
    families_then.school_age_children::integer as school_age_children,
    families_then.school_age_children_in_school::integer as school_age_children_in_school,
    families_then.employment_referrals::integer as employment_referrals,
    families_then.sanction_in_force::boolean as sanction_in_force,
    families_then.sanction_reduction_pct::numeric(5,2) as sanction_reduction_pct,
    coalesce(aid_during_sanction.municipal_aid_try_during_sanction, 0)::numeric(14,2)
        as municipal_aid_try_during_sanction,
    {{ built_through_file_id() }} as built_through_file_id
from families_then
left join aid using (household_key, half_year)
left join overlap using (household_key, half_year)
left join aid_during_sanction using (household_key, half_year)

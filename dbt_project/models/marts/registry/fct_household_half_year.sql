-- One row per family and half-year: the family as it was at the half-year's end (status, mahalle, need level from
-- the latest assessment by then), the aid it received from each institution, services, school-age children in
-- school, employment referrals, and the three-refusal sanction with the municipal aid delivered during it.
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

with periods as (
    select period as half_year, period_start, period_end from {{ ref('int_periods') }}
    where period_kind = 'half_year' and period_start >= {{ rebuilt_from_day }}
),

rebuilt_from as (
    select coalesce(min(half_year), '9999') as half_year from periods
),

families_then as (
    select periods.*, versions.household_key, versions.mahalle_code, versions.household_status,
           versions.household_size, versions.protection_status
    from periods
    join {{ ref('int_household_versions') }} as versions
      on versions.valid_from <= periods.period_end
     and (versions.valid_to is null or versions.valid_to > periods.period_end)
),

-- Each assessment holds from its visit until the family's next one (of two on the same day, the later key holds).
assessment_spans as (
    select household_key, need_level, next_visit_due, visit_date as valid_from,
           lead(visit_date) over (partition by household_key order by visit_date, assessment_key) as valid_to
    from {{ ref('fct_need_assessment') }}
),

need_then as (
    select families_then.household_key, families_then.half_year, spans.need_level, spans.next_visit_due
    from families_then
    join assessment_spans as spans
      on spans.household_key = families_then.household_key
     and spans.valid_from <= families_then.period_end
     and (spans.valid_to is null or spans.valid_to > families_then.period_end)
),

-- Aid per family, half-year and institution first, then per family and half-year: the institutions are that
-- step's rows, where a count(distinct institution) sorted the million deliveries.
aid_by_institution as (
    select household_key, half_year, institution, count(*) as deliveries, sum(amount_try) as aid_try
    from {{ ref('fct_aid') }}
    where household_key is not null and delivered_on >= {{ rebuilt_from_day }}
    group by household_key, half_year, institution
),

aid as (
    select household_key, half_year,
        coalesce(sum(deliveries) filter (where institution = 'belediye'), 0) as municipal_deliveries,
        coalesce(sum(aid_try) filter (where institution = 'belediye'), 0) as municipal_aid_try,
        coalesce(sum(deliveries) filter (where institution like 'stk:%'), 0) as ngo_deliveries,
        coalesce(sum(aid_try) filter (where institution like 'stk:%'), 0) as ngo_aid_try,
        coalesce(sum(deliveries) filter (where institution = 'devlet:sydv'), 0) as state_deliveries,
        coalesce(sum(aid_try) filter (where institution = 'devlet:sydv'), 0) as state_aid_try,
        count(*) as institutions
    from aid_by_institution
    group by household_key, half_year
),

-- need categories more than one institution covered in the half-year (min <> max: more than one distinct
-- institution, without the sort a count(distinct …) needs)
overlap as (
    select household_key, half_year, count(*) as overlapping_need_categories
    from (
        select household_key, half_year, need_category
        from {{ ref('fct_aid') }}
        where household_key is not null and delivered_on >= {{ rebuilt_from_day }}
        group by household_key, half_year, need_category
        having min(institution) <> max(institution)
    ) categories
    group by household_key, half_year
),

services as (
    select household_key, half_year, count(*) as services_opened
    from {{ ref('fct_social_service') }} where half_year >= (select half_year from rebuilt_from)
    group by household_key, half_year
),

referrals as (
    select household_key, half_year, count(*) as employment_referrals
    from {{ ref('fct_employment_referral') }}
    where household_key is not null and half_year >= (select half_year from rebuilt_from)
    group by household_key, half_year
),

sanctions as (
    select families_then.household_key, families_then.half_year,
           max(schedule.reduction_pct) as max_reduction_pct
    from families_then
    join {{ ref('fct_sanction_schedule') }} as schedule
      on schedule.household_key = families_then.household_key
     and schedule.step_start <= families_then.period_end
     and schedule.step_end > families_then.period_start
    group by families_then.household_key, families_then.half_year
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
    families_then.mahalle_code::text as mahalle_code,
    families_then.household_status::text as household_status,
    families_then.household_size::integer as household_size,
    families_then.protection_status::text as protection_status,
    need_then.need_level::integer as need_level,
    coalesce(need_then.next_visit_due < families_then.period_end, false)::boolean as assessment_overdue,
    coalesce(aid.municipal_deliveries, 0)::integer as municipal_deliveries,
    coalesce(aid.municipal_aid_try, 0)::numeric(14,2) as municipal_aid_try,
    coalesce(aid.ngo_deliveries, 0)::integer as ngo_deliveries,
    coalesce(aid.ngo_aid_try, 0)::numeric(14,2) as ngo_aid_try,
    coalesce(aid.state_deliveries, 0)::integer as state_deliveries,
    coalesce(aid.state_aid_try, 0)::numeric(14,2) as state_aid_try,
    coalesce(aid.institutions, 0)::integer as aiding_institutions,
    coalesce(overlap.overlapping_need_categories, 0)::integer as overlapping_need_categories,
    coalesce(services.services_opened, 0)::integer as services_opened,
    coalesce(children.school_age_children, 0)::integer as school_age_children,
    coalesce(children.school_age_children_in_school, 0)::integer as school_age_children_in_school,
    coalesce(referrals.employment_referrals, 0)::integer as employment_referrals,
    (sanctions.household_key is not null)::boolean as sanction_in_force,
    sanctions.max_reduction_pct::numeric(5,2) as sanction_reduction_pct,
    coalesce(aid_during_sanction.municipal_aid_try_during_sanction, 0)::numeric(14,2)
        as municipal_aid_try_during_sanction,
    {{ built_through_file_id() }} as built_through_file_id
from families_then
left join need_then using (household_key, half_year)
left join aid using (household_key, half_year)
left join overlap using (household_key, half_year)
left join services using (household_key, half_year)
left join (
    select * from {{ ref('int_household_children_half_year') }} where half_year >= (select half_year from rebuilt_from)
) as children using (household_key, half_year)
left join referrals using (household_key, half_year)
left join sanctions using (household_key, half_year)
left join aid_during_sanction using (household_key, half_year)

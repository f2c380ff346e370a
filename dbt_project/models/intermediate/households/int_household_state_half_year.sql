-- One row per family and half-year: what fct_household_half_year says of the family besides its aid — the family as
-- it was at the half-year's end (status, mahalle, size, need level from the latest assessment by then), services,
-- school-age children in school, employment referrals and the three-refusal sanction. None of it reads fct_aid, so
-- it builds beside fct_aid and NGO linkage instead of after them, on the build's critical path.
--
-- Incremental by half-year like fct_household_half_year (macros/incremental_current.sql), from the changes that are
-- not aid: the pre-hook deletes the half-years a build redoes, and their rows are appended.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['household_key', 'half_year'], 'unique': True}],
    pre_hook=["{{ delete_half_years_to_rebuild(with_aid=false) }}"],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day(with_aid=false) %}

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

-- The half-year ends a span covers: spans are placed on the half-years directly (a row each), not joined to
-- every half-year of their family and filtered (at ten districts 52 M pairs for 6 M kept, and a 6 M-row hash table).
need_then as (
    select spans.household_key, periods.half_year, spans.need_level, spans.next_visit_due
    from assessment_spans as spans
    join periods
      on spans.valid_from <= periods.period_end
     and (spans.valid_to is null or spans.valid_to > periods.period_end)
),

-- Services opened in the half-year, and those active in it (opened by its end, not closed before its start): the
-- A4 link between aid and services counts a family still in counselling as linked, not only one newly referred.
services as (
    select service.household_key, periods.half_year,
           count(*) filter (where service.opened_on >= periods.period_start) as services_opened,
           count(*) as services_active
    from {{ ref('fct_social_service') }} as service
    join periods
      on service.opened_on <= periods.period_end
     and (service.closed_on is null or service.closed_on >= periods.period_start)
    where service.household_key is not null
    group by service.household_key, periods.half_year
),

referrals as (
    select household_key, half_year, count(*) as employment_referrals
    from {{ ref('fct_employment_referral') }}
    where household_key is not null and half_year >= (select half_year from rebuilt_from)
    group by household_key, half_year
),

sanctions as (
    select schedule.household_key, periods.half_year, max(schedule.reduction_pct) as max_reduction_pct
    from {{ ref('fct_sanction_schedule') }} as schedule
    join periods
      on schedule.step_start <= periods.period_end
     and schedule.step_end > periods.period_start
    group by schedule.household_key, periods.half_year
)

select
    families_then.household_key,
    families_then.half_year,
    families_then.mahalle_code,
    families_then.household_status,
    families_then.household_size,
    families_then.protection_status,
    need_then.need_level,
    coalesce(need_then.next_visit_due < families_then.period_end, false) as assessment_overdue,
    coalesce(services.services_opened, 0) as services_opened,
    coalesce(services.services_active, 0) as services_active,
    coalesce(children.school_age_children, 0) as school_age_children,
    coalesce(children.school_age_children_in_school, 0) as school_age_children_in_school,
    coalesce(referrals.employment_referrals, 0) as employment_referrals,
    sanctions.household_key is not null as sanction_in_force,
    sanctions.max_reduction_pct as sanction_reduction_pct,
    {{ built_through_file_id() }} as built_through_file_id
from families_then
left join need_then using (household_key, half_year)
left join services using (household_key, half_year)
left join (
    select * from {{ ref('int_household_children_half_year') }} where half_year >= (select half_year from rebuilt_from)
) as children using (household_key, half_year)
left join referrals using (household_key, half_year)
left join sanctions using (household_key, half_year)

-- Family development (graduation), the heart of H4.1: per half-year, the families whose municipal aid ended there and
-- did not come back within 12 months, and of them those that left after a member took a job (an İŞKUR offer
-- accepted from six months before the last delivery to three after it, or the case closed because a member found
-- work). A family whose 12 months are not yet over when the data ends is not judged yet (`families_not_yet_judged`):
-- the count of a recent half-year grows as the months pass, never the other way.
--
-- Incremental by half-year (macros/incremental_current.sql, graduation_changed_on): a build redoes the half-years
-- from the earliest ending a change can judge differently — a daily delivery: the last year and a half — and keeps
-- the others. An ending needs only the deliveries after it, so the redone half-years read no earlier aid.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['half_year'], 'unique': True}],
    pre_hook=["{{ delete_half_years_from(half_year_start_of(graduation_changed_on())) }}"],
) }}
{%- set rebuilt_from_day = half_year_start_of(graduation_changed_on()) %}

with municipal_aid as (
    select household_key, delivered_on from {{ ref('fct_aid') }}
    where institution = 'belediye' and household_key is not null and delivered_on >= {{ rebuilt_from_day }}
),

half_years as (
    select period as half_year, period_start, period_end, latest_delivery_on
    from {{ ref('int_periods') }} where period_kind = 'half_year' and period_start >= {{ rebuilt_from_day }}
),

deliveries as (
    select household_key, delivered_on,
           lead(delivered_on) over (partition by household_key order by delivered_on) as next_delivered_on
    from municipal_aid
),

-- a delivery after which no municipal aid came for 12 months (or has not come yet)
endings as (
    select household_key, delivered_on as last_aid_on, next_delivered_on
    from deliveries
    where next_delivered_on is null or next_delivered_on > delivered_on + 365
),

jobs as (
    select household_key, outcome_on from {{ ref('fct_job_offer') }}
    where outcome = 'kabul' and household_key is not null and outcome_on >= {{ rebuilt_from_day }} - 182
),

closed_for_work as (
    select distinct household_key from {{ ref('stg_belediye__households') }} where closed_reason = 'ise_girdi'
),

-- the endings a member's accepted job came with (joins, not a lookup per ending: that grew with the square of
-- the district's size)
endings_after_a_job as (
    select distinct endings.household_key, endings.last_aid_on
    from endings
    join jobs on jobs.household_key = endings.household_key
             and jobs.outcome_on between endings.last_aid_on - 182 and endings.last_aid_on + 91
),

judged as (
    select
        half_years.half_year,
        endings.household_key,
        endings.next_delivered_on is null and half_years.latest_delivery_on < endings.last_aid_on + 365
            as not_yet_judged,
        endings_after_a_job.household_key is not null or closed_for_work.household_key is not null as after_a_job
    from endings
    join half_years on endings.last_aid_on between half_years.period_start and half_years.period_end
    left join endings_after_a_job using (household_key, last_aid_on)
    left join closed_for_work using (household_key)
),

aided as (
    select half_years.half_year, count(distinct municipal_aid.household_key) as families
    from half_years
    join municipal_aid on municipal_aid.delivered_on between half_years.period_start and half_years.period_end
    group by half_years.half_year
)

select
    half_years.half_year::text as half_year,
    coalesce(aided.families, 0)::integer as municipally_aided_families,
    count(judged.household_key) filter (where not judged.not_yet_judged)::integer as families_left_aid,
    count(judged.household_key) filter (where not judged.not_yet_judged and judged.after_a_job)::integer
        as families_left_after_a_job,
    count(judged.household_key) filter (where judged.not_yet_judged)::integer as families_not_yet_judged,
    round(100.0 * count(judged.household_key) filter (where not judged.not_yet_judged and judged.after_a_job)
          / nullif(aided.families, 0), 2)::numeric(6,2) as graduation_pct,
    {{ built_through_file_id() }} as built_through_file_id
from half_years
left join aided using (half_year)
left join judged using (half_year)
group by half_years.half_year, aided.families

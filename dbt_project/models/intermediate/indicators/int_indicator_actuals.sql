-- The actual value of each of the five indicators in each period, with numerator and denominator for rates.
--
-- Incremental by period (macros/incremental_current.sql): a build redoes the periods that end on or after the
-- earliest day its new deliveries speak of (a daily delivery: the current half-year and year), every period when
-- the registry's households changed (PG4.1.1 counts families by today's head IDs), and periods new since the last
-- build; it keeps the others. Targets, baselines and weights are joined in fct_indicator_period, so a plan edit
-- (a seed) never waits for a delivery.
{{ config(
    materialized='incremental',
    unique_key=['indicator_code', 'period'],
    post_hook=["{% if is_incremental() %}delete from {{ this }} where period not in (select period from "
               ~ "{{ ref('int_periods') }}){% endif %}"],
) }}

with periods as (
    select * from {{ ref('int_periods') }}
    {% if is_incremental() %}
    where period not in (select period from {{ this }})
       or period_end >= least(
            (select min(delivered_on) from {{ ref('int_aid_isas_status') }}
             where built_through_file_id > {{ last_built_file_id() }}),
            ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__aid'), 'delivered_on') }}),
            ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__employment_referrals'),
                                                       'referred_on') }}),
            ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__surveys'),
                                                       "to_date(left(survey_wave, 4) || case right(survey_wave, 1)"
                                                       " when '1' then '-01-01' else '-07-01' end, 'YYYY-MM-DD')") }}),
            (select '-infinity'::date where exists (
                select 1 from {{ source('ingest', 'files') }}
                where {{ registry_files_changed_since_last_build(['households']) }}))
       )
    {% endif %}
),

-- municipal aid records with their ISAS status (a table the build keeps incrementally)
aid as (
    select * from {{ ref('int_aid_isas_status') }}
    where delivered_on between (select min(period_start) from periods) and (select max(period_end) from periods)
),

surveys as (
    select * from {{ ref('stg_belediye__surveys') }}
),

referrals as (
    select * from {{ ref('stg_belediye__employment_referrals') }}
    where referred_on between (select min(period_start) from periods) and (select max(period_end) from periods)
),

families as (
    select household_id, family_key from {{ ref('int_household_families') }}
),

-- PG4.1.1: distinct families with at least one municipal aid delivery in the period (household records with the
-- same valid head ID are one family). Each family's half-years first (a year is its two half-years), so that a
-- million deliveries are reduced once rather than once per period.
family_half_years as (
    select distinct
        coalesce(families.family_key, aid.household_id) as family,
        {{ half_year('aid.delivered_on') }} as period
    from aid
    left join families using (household_id)
),

family_periods as (
    select family, period from family_half_years
    union
    select family, left(period, 4) from family_half_years
),

families_per_period as (
    select period, count(*) as families from family_periods group by period
),

families_aided as (
    select periods.period, 'PG4.1.1' as indicator_code,
           coalesce(families_per_period.families, 0)::numeric as actual_value,
           null::numeric as numerator, null::numeric as denominator
    from periods
    left join families_per_period using (period)
),

-- Survey responses belong to the period of their wave; a year pools both waves.
survey_in_period as (
    select periods.period, surveys.*
    from periods
    join surveys
      on surveys.survey_wave = periods.period
      or (periods.period_kind = 'year' and left(surveys.survey_wave, 4) = periods.period)
),

-- PG4.1.2 / PG4.1.3: share of answers 4 or 5 among those who answered the question.
satisfaction as (
    {{ survey_top_box_share('PG4.1.2', 'q_satisfaction') }}
),

fairness as (
    {{ survey_top_box_share('PG4.1.3', 'q_fairness') }}
),

-- PG4.1.4: distinct persons referred to employment in the period.
persons_referred as (
    select periods.period, 'PG4.1.4',
           count(distinct referrals.person_id)::numeric, null::numeric, null::numeric
    from periods
    left join referrals on referrals.referred_on between periods.period_start and periods.period_end
    group by periods.period
),

-- PG4.1.5: share of the half-year's municipal aid records that ISAS had accepted by the cut-off — the half-year's
-- end plus the grace the publication gate allows (var isas_grace_days: quality_levels.yml's isas.grace_days), so a
-- record delivered on the last day has as long as one delivered on the first, and a receipt that comes later does
-- not change a closed half-year's figure. A year is the sum of its two half-years. Until the cut-off has passed the
-- figure is provisional (fct_indicator_period.is_final).
isas_half_years as (
    select half_years.period,
           count(*) filter (where aid.is_entered_in_isas
                              and aid.latest_receipt_at::date <= half_years.period_end + {{ var('isas_grace_days') }})
               as entered,
           count(*) as records
    from aid
    -- every half-year's end, not only those of the periods this build redoes (a year needs its first half too)
    join {{ ref('int_periods') }} as half_years on half_years.period = {{ half_year('aid.delivered_on') }}
    group by 1
),

isas_periods as (
    select period, entered, records from isas_half_years
    union all
    select left(period, 4), entered, records from isas_half_years
),

isas_entry as (
    select periods.period, 'PG4.1.5',
           round(100.0 * sum(isas_periods.entered) / nullif(sum(isas_periods.records), 0), 2),
           coalesce(sum(isas_periods.entered), 0)::numeric,
           coalesce(sum(isas_periods.records), 0)::numeric
    from periods
    left join isas_periods using (period)
    group by periods.period
),

unioned as (
    select * from families_aided
    union all select * from satisfaction
    union all select * from fairness
    union all select * from persons_referred
    union all select * from isas_entry
)

select unioned.*, {{ built_through_file_id() }} as built_through_file_id from unioned

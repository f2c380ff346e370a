-- The plan card's risks, watched per half-year (risk monitors):
--   1 aid as income: families aided by the municipality in every one of the last six half-years (dependency);
--   2 needs beyond the budget: municipal spend against the plan's yearly budget, spend per aided family, and
--     needy families no institution aided;
--   3 weak aid ↔ service link: the share of aided families that also had a social service active in the half-year
--     (opened in it or still ongoing);
--   4 no lasting improvement: aided families whose need level did not fall within two years;
--   5 refugee growth: the share of aided families under temporary or international protection.
--
--
-- A plain table: a row per half-year, and redoing the changed half-years took as long as building them all
-- (docs/decisions.md, "Incremental where it pays").
{{ config(materialized='table') }}

with plan as (
    select (cost_estimate_try / (plan_end_year - plan_start_year + 1) / 2.0)::numeric(16,2) as half_year_budget_try
    from {{ ref('plan_card') }}
),

-- half-years numbered on the calendar (year × 2 + 0 for H1, 1 for H2), so "the last six" are consecutive ones
numbered as (
    select families.*, state.protection_status, {{ half_year_number('families.half_year') }} as half_year_number
    from {{ ref('fct_household_half_year') }} as families
    join {{ ref('int_household_state_half_year') }} as state using (household_key, half_year)
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
),

per_half_year as (
    select
        half_year,
        count(*) filter (where municipal_deliveries > 0) as municipally_aided_families,
        count(*) filter (where aiding_institutions > 0) as aided_families,
        count(*) filter (where municipal_deliveries > 0 and aided_of_last_six = 6) as families_aided_six_half_years,
        sum(municipal_aid_try) as municipal_spend_try,
        count(*) filter (where need_level >= 4 and aiding_institutions = 0) as needy_families_without_aid,
        count(*) filter (where aiding_institutions > 0 and services_active > 0) as aided_families_with_service,
        count(*) filter (where aiding_institutions > 0 and protection_status <> 'none')
            as aided_families_under_protection,
        count(*) filter (where municipal_deliveries > 0 and need_level_two_years_before is not null)
            as aided_families_assessed_2y_ago,
        count(*) filter (where municipal_deliveries > 0 and need_level >= need_level_two_years_before)
            as aided_families_not_improved
    from history
    group by half_year
)

select
    per_half_year.half_year::text as half_year,
    per_half_year.aided_families::integer as aided_families,
    per_half_year.municipally_aided_families::integer as municipally_aided_families,
    per_half_year.families_aided_six_half_years::integer as families_aided_six_half_years,
    round(100.0 * per_half_year.families_aided_six_half_years
          / nullif(per_half_year.municipally_aided_families, 0), 2)::numeric(6,2) as dependency_pct,
    per_half_year.municipal_spend_try::numeric(16,2) as municipal_spend_try,
    plan.half_year_budget_try::numeric(16,2) as half_year_budget_try,
    round(100.0 * per_half_year.municipal_spend_try / nullif(plan.half_year_budget_try, 0), 2)::numeric(8,2)
        as budget_used_pct,
    round(per_half_year.municipal_spend_try / nullif(per_half_year.municipally_aided_families, 0), 2)::numeric(14,2)
        as spend_per_aided_family_try,
    per_half_year.needy_families_without_aid::integer as needy_families_without_aid,
    round(100.0 * per_half_year.aided_families_with_service / nullif(per_half_year.aided_families, 0), 2)::numeric(6,2)
        as aid_service_link_pct,
    round(100.0 * per_half_year.aided_families_under_protection / nullif(per_half_year.aided_families, 0), 2)
        ::numeric(6,2) as refugee_share_pct,
    round(100.0 * per_half_year.aided_families_not_improved / nullif(per_half_year.aided_families_assessed_2y_ago, 0),
          2)::numeric(6,2) as no_improvement_pct
from per_half_year
cross join plan

-- The plan card's risks, watched per half-year (risk monitors):
--   1 aid as income: families aided by the municipality in every one of the last six half-years (dependency);
--   2 needs beyond the budget: municipal spend against the plan's yearly budget, spend per aided family, and
--     needy families no institution aided;
--   3 weak aid ↔ service link: the share of aided families that also had a social service active in the half-year
--     (opened in it or still ongoing);
--   4 no lasting improvement: aided families whose need level did not fall within two years;
--   5 refugee growth: the share of aided families under temporary or international protection.
--
-- The counts are kept per half-year incrementally (int_risk_counts_per_half_year); the plan is joined here, so that
-- an edit of it shows at once.
with plan as (
    select (cost_estimate_try / (plan_end_year - plan_start_year + 1) / 2.0)::numeric(16,2) as half_year_budget_try
    from {{ ref('plan_card') }}
),

per_half_year as (
    select * from {{ ref('int_risk_counts_per_half_year') }}
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

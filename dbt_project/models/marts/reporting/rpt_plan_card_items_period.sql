-- The plan card's activities, needs and findings (seed plan_card_items), each with the figure the data gives to
-- monitor it, per reporting period that has begun (half-years and years, dim_period). Families and persons are
-- counted once per period, so a year's count is not the sum of its half-years'. The figures are kept per period
-- incrementally (int_plan_card_figures_per_period); the card's items are joined here, so that an edit shows at once.
with periods as (
    select period, period_kind from {{ ref('dim_period') }}
),

items as (
    select * from {{ ref('plan_card_items') }} where item_kind in ('faaliyet', 'ihtiyac', 'tespit')
),

figures as (
    select period, measure_code, value, cost_try from {{ ref('int_plan_card_figures_per_period') }}
)

select
    periods.period::text as period,
    periods.period_kind::text as period_kind,
    items.item_kind::text as item_kind,
    items.item_number::integer as item_number,
    items.item_tr::text as item_tr,
    items.measure_code::text as measure_code,
    items.measure_tr::text as measure_tr,
    items.unit_tr::text as unit_tr,
    round(figures.value, 1)::numeric(14,1) as value,
    round(figures.cost_try, 2)::numeric(16,2) as cost_try,
    (case
        when items.item_kind <> 'faaliyet' or not items.is_activity_output then null
        when items.measure_code is null then 'veri_disinda'
        when figures.value is null then 'olculmedi'
        when figures.value > 0 then 'yurutuldu'
        else 'donemde_islem_yok'
    end)::text as activity_status
from periods
cross join items
left join figures on figures.period = periods.period and figures.measure_code = items.measure_code

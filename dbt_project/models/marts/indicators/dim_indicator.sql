-- The plan card's indicators, for labelling charts: the BI role reads marts only, not the seeds.
select
    indicator_code::text as indicator_code,
    target_code::text as target_code,
    aim_code::text as aim_code,
    name_tr::text as name_tr,
    name_en::text as name_en,
    unit::text as unit,
    unit_tr::text as unit_tr,
    is_rate::boolean as is_rate,
    weight_pct::numeric as weight_pct,
    baseline_value::numeric as baseline_value,
    baseline_period::text as baseline_period,
    -- every indicator of A4 rises toward its target
    'higher_is_better'::text as direction
from {{ ref('plan_indicators') }}

-- The reporting periods the data has begun, with Turkish labels and whether each is closed.
select
    period::text as period,
    period_kind::text as period_kind,
    year::integer as year,
    period_start::date as period_start,
    period_end::date as period_end,
    (case when period_kind = 'year' then year || ' yılı'
          else year || ' ' || right(period, 1) || '. yarıyıl' end)::text as label_tr,
    is_closed::boolean as is_closed,
    data_through::date as data_through
from {{ ref('int_periods') }}

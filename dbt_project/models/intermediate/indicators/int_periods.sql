-- Every reporting period the data has begun: half-years (`2024-H1`, `2024-H2`) and years (`2024`) from the first
-- to the latest municipal aid delivery (an aid record's own day, not its file's: a file delivered on 1 January
-- carries December). Periods before the first delivery, or not yet begun, are not reported (no zeros for them).
-- A period is closed once a file delivered on or after its last day has been loaded; until then its figures are
-- provisional and reach `data_through`. Decided by the deliveries, not by the clock, so that replaying past days
-- gives what those days gave.
-- A table of a few dozen rows, analysed when built (macros/analyze_new_table.sql): every half-year model joins it, and
-- as a view the planner guessed it at 2–3 rows and looped over an index for each of them (docs/decisions.md).
{{ config(materialized='table') }}

with aid_days as (
    select min(delivered_on) as first_day, max(delivered_on) as last_day from {{ ref('int_aid_isas_status') }}
),

latest_delivery as (
    select max(delivered_on) as latest_day from {{ source('ingest', 'files') }} where status = 'loaded'
),

years as (
    select generate_series(extract(year from first_day)::int, extract(year from last_day)::int) as year
    from aid_days
),

periods as (
    select year || '-H1' as period, 'half_year' as period_kind, year,
           make_date(year, 1, 1) as period_start, make_date(year, 6, 30) as period_end
    from years
    union all
    select year || '-H2', 'half_year', year, make_date(year, 7, 1), make_date(year, 12, 31) from years
    union all
    select year::text, 'year', year, make_date(year, 1, 1), make_date(year, 12, 31) from years
)

select
    periods.period,
    periods.period_kind,
    periods.year,
    periods.period_start,
    periods.period_end,
    coalesce(latest_delivery.latest_day >= periods.period_end, false) as is_closed,
    least(periods.period_end, greatest(latest_delivery.latest_day, aid_days.last_day)) as data_through,
    latest_delivery.latest_day as latest_delivery_on
from periods
cross join aid_days
cross join latest_delivery
where periods.period_start <= aid_days.last_day
  and periods.period_end >= aid_days.first_day

-- Every reporting period the warehouse has municipal aid data for: half-years (`2024-H1`, `2024-H2`) and
-- years (`2024`). Periods before the first delivery are not reported as zeros.
with years as (
    select generate_series(
        extract(year from min(delivered_on))::int,
        extract(year from max(delivered_on))::int
    ) as year
    from {{ ref('int_aid_isas_status') }}
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

select * from periods

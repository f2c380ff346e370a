{#- `2024-H1` for a date in January–June, `2024-H2` otherwise. -#}
{% macro half_year(date_expr) -%}
    (extract(year from {{ date_expr }})::int || '-H' || case when extract(month from {{ date_expr }}) <= 6 then 1 else 2 end)
{%- endmacro %}

{#- A half-year's place on the calendar: year × 2, plus 1 for H2 (`2024-H2` → 4049), so that consecutive half-years
    are consecutive numbers. -#}
{% macro half_year_number(half_year_expr) -%}
    (left({{ half_year_expr }}, 4)::int * 2 + right({{ half_year_expr }}, 1)::int - 1)
{%- endmacro %}

{#- `2024-H1` for a date in January–June, `2024-H2` otherwise. -#}
{% macro half_year(date_expr) -%}
    (extract(year from {{ date_expr }})::int || '-H' || case when extract(month from {{ date_expr }}) <= 6 then 1 else 2 end)
{%- endmacro %}

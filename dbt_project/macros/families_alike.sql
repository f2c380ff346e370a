{#- The number of distinct families (household_key) among the rows that share `columns`, as a window expression:
    the family's dense rank counted from the front plus from the back, less one (a window cannot count distinct). -#}
{% macro families_alike(columns) -%}
(dense_rank() over (partition by {{ columns }} order by household_key)
 + dense_rank() over (partition by {{ columns }} order by household_key desc) - 1)
{%- endmacro %}

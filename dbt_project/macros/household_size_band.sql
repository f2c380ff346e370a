{#- A household's size as the band the marts publish (dim_household): exact sizes of large families set them apart. -#}
{% macro household_size_band(size) -%}
    case
        when {{ size }} is null then null
        when {{ size }} <= 2 then {{ size }}::text
        when {{ size }} <= 4 then '3-4'
        when {{ size }} <= 6 then '5-6'
        else '7+'
    end
{%- endmacro %}

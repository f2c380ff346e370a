{#- A source's free text as a value of a closed list, so that no delivered sentence reaches the marts: the value,
    folded to lower case, when the list has it; `other` when it does not; null for nothing. -#}
{% macro closed_list(column, values, other='diger') -%}
case
    when nullif(trim({{ column }}), '') is null then null
    when lower(trim({{ column }})) in ({% for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor %})
        then lower(trim({{ column }}))
    else '{{ other }}'
end
{%- endmacro %}

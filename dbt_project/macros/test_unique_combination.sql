{#- No dbt packages can be installed here (dbt Hub is unreachable), so the one generic test we need from
    dbt_utils is written out. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{#- One survey indicator per period: the share of answers 4 or 5 among those who answered `question`
    (PG4.1.2 satisfaction, PG4.1.3 fairness), with numerator and denominator. Expects CTEs `periods` and
    `survey_in_period`. -#}
{% macro survey_top_box_share(indicator_code, question) -%}
    select periods.period, '{{ indicator_code }}' as indicator_code,
           round(100.0 * count(*) filter (where {{ question }} >= 4) / nullif(count({{ question }}), 0), 2),
           count(*) filter (where {{ question }} >= 4)::numeric,
           count({{ question }})::numeric
    from periods left join survey_in_period using (period)
    group by periods.period
{%- endmacro %}

{#- Schemas are named for their layer (staging, intermediate, marts), not prefixed by the target schema:
    BI tools and reports address `marts.fct_indicator_period`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}

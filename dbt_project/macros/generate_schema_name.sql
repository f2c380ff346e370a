{#- Schemas are named for their layer (staging, intermediate, marts), not prefixed by the target schema:
    BI tools and reports address `marts.fct_indicator_period`.
    The marts are built into var('marts_schema') — `marts_build` when the pipeline builds — and published to
    `marts` only after the quality gate passes (kopru.quality.gate), so BI never sees a half-built or failing state. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name == 'marts' -%}
        {{ var('marts_schema', 'marts') }}
    {%- else -%}
        {{ custom_schema_name if custom_schema_name is not none else target.schema }}
    {%- endif -%}
{%- endmacro %}

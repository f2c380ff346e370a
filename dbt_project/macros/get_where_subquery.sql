{#- dbt's `where` test config, with one placeholder: `__written_by_this_build__` keeps the rows of an incremental
    model that this build wrote (their built_through_file_id is the build's watermark, the var the build passes;
    without it, the table's latest watermark: macros/incremental_current.sql). Row tests on a million-row fact then
    judge the day's rows, not again the rows earlier builds wrote and tested, which no build has touched since — nor
    a whole earlier batch on a day that brought the model nothing; a full build writes, and so tests, every row.
    Keys stay unique across the whole table by the model's unique index (test unique_by_index). (dbt's documented
    way to extend `where`: override get_where_subquery.) -#}
{% macro get_where_subquery(relation) -%}
    {% set where = config.get('where', '') %}
    {% if where %}
        {% if '__written_by_this_build__' in where %}
            {#- read when the test runs and written in as a number: the planner then finds a day's rows by the
                watermark's index (as a subquery, it guessed and scanned the table) -#}
            {% if var('built_through_file_id', none) is not none %}
                {% set latest = var('built_through_file_id') %}
            {% else %}
                {% set latest = run_query('select max(built_through_file_id) from ' ~ relation).columns[0].values()[0]
                                if execute else none %}
            {% endif %}
            {% set where = where | replace('__written_by_this_build__',
                                           'built_through_file_id = ' ~ (latest if latest is not none else 'null')) %}
        {% endif %}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}

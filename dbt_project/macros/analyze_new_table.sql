{#- Statistics for a table the build has just made, before the models that read it are planned. dbt creates tables
    without them, and autovacuum gathers them only a minute or so later (or never, within one build): the planner then
    guesses a fresh table's rows from its size and its join selectivities from defaults, and chose nested loops over
    a million rows (docs/decisions.md, "A new table's statistics before its readers"). A table its incremental run only
    added to keeps the statistics it has (autovacuum's to refresh), so a day's build does not sample every large table. -#}
{% macro analyze_new_table() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
    do $analyze$
    begin
        if (select last_analyze is null and last_autoanalyze is null
            from pg_stat_user_tables where relid = to_regclass('{{ this.include(database=false) }}')) then
            analyze {{ this }};
        end if;
    end
    $analyze$
    {%- endif -%}
{%- endmacro %}

{#- A key a model's unique index holds (its `indexes` config) is unique by PostgreSQL's own guarantee, on every write
    of every build: this test asks the catalogue that the index is there and in force — valid, not deferred, not
    partial, on exactly these columns — instead of grouping every row again. At ten districts dbt's `unique` on
    fct_aid's 18 M keys took 78 s, the index lookup a millisecond (docs/decisions.md, 2026-12-04). It fails, naming
    the model, when the index config is dropped or changed. -#}
{% test unique_by_index(model, column_name=none, columns=none) %}
    {%- set key = (columns if columns else [column_name]) | map('lower') | sort -%}
    select {{ dbt.string_literal(model.include(database=false) ~ ': no unique index on (' ~ key | join(', ') ~ ')') }}
           as missing_index
    where not exists (
        select from pg_index as indexes
        where indexes.indrelid = to_regclass({{ dbt.string_literal(model.include(database=false)) }})
          and indexes.indisunique and indexes.indisvalid and indexes.indimmediate
          and indexes.indpred is null and indexes.indexprs is null and indexes.indnatts = indexes.indnkeyatts
          and (select array_agg(columns.attname::text order by columns.attname::text)
               from pg_attribute as columns
               where columns.attrelid = indexes.indrelid and columns.attnum = any(indexes.indkey))
              = array[{% for column in key %}{{ dbt.string_literal(column) }}{{ ', ' if not loop.last }}{% endfor %}]::text[]
    )
{% endtest %}

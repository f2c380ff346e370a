{#- The current version of each business key of a raw feed table: its latest version among files the manifest
    marks `loaded` (superseded files drop out, their rows stay in raw history). -#}
{% macro current_rows(source_relation, key) -%}
    select distinct on ({{ key }}) raw_rows.*, files.delivered_on as _delivered_on
    from {{ source_relation }} as raw_rows
    join {{ source('ingest', 'files') }} as files
      on files.file_id = raw_rows._file_id and files.status = 'loaded'
    order by {{ key }}, files.delivered_on desc, raw_rows._file_id desc, raw_rows._row_number desc
{%- endmacro %}

{#- The current version of each business key of a raw feed table, as the loader marks it (`_is_current`: the
    latest version among files the manifest marks `loaded`; superseded files drop out, their rows stay in raw
    history; a key a full snapshot no longer carried has an `_is_absent` version current, and no current row here),
    with the delivery day of the file it came from. -#}
{% macro current_rows(source_relation) -%}
    select raw_rows.*, files.delivered_on as _delivered_on
    from {{ source_relation }} as raw_rows
    join {{ source('ingest', 'files') }} as files on files.file_id = raw_rows._file_id
    where raw_rows._is_current and not raw_rows._is_absent
{%- endmacro %}

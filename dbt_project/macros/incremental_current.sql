{#- Incremental facts over the loader's current rows (see current_rows).

    Every incremental fact carries `built_through_file_id`: the newest manifest file the build that wrote the row
    had seen. The next build takes the current rows of later files, plus the keys of any file superseded since
    (their current version may now be an older one), and replaces those keys (delete+insert on the unique key).
    A key that only a superseded file carried has no current version left: drop_rows_no_longer_current, a
    post-hook, removes it. A full refresh rebuilds the same rows from scratch. -#}

{% macro built_through_file_id() -%}
    (select coalesce(max(file_id), 0) from {{ source('ingest', 'files') }})::bigint
{%- endmacro %}

{% macro last_built_file_id() -%}
    (select coalesce(max(built_through_file_id), 0) from {{ this }})
{%- endmacro %}

{#- Keys, as the raw table names them, that a file superseded after the last build carried. -#}
{% macro keys_superseded_since_last_build(source_relation, raw_key) -%}
    select raw_rows.{{ raw_key }}
    from {{ source_relation }} as raw_rows
    join {{ source('ingest', 'files') }} as files on files.file_id = raw_rows._file_id
    where files.status = 'superseded' and files.superseded_by > {{ last_built_file_id() }}
{%- endmacro %}

{#- The incremental batch: staged rows of files after the last build, or of keys a later file superseded. -#}
{% macro changed_since_last_build(file_id_column, key_column, source_relation, raw_key) -%}
    ({{ file_id_column }} > {{ last_built_file_id() }}
     or {{ key_column }} in ({{ keys_superseded_since_last_build(source_relation, raw_key) }}))
{%- endmacro %}

{#- Post-hook (pass it as a string, "{{ drop_rows_no_longer_current(...) }}", so that it renders when the model
    runs and `this` is the model's table): delete the rows of `this` whose key only superseded files carried and
    so has no current version now. `raw_key` is an expression over the raw table (raw.<source_table>) that, after
    `prefix`, gives the value `key_expression` has in `this`. -#}
{% macro drop_rows_no_longer_current(key_expression, source_name, source_table, raw_key, prefix='') -%}
    delete from {{ this }} fact
    using (
        select '{{ prefix }}' || {{ raw_key }} as raw_key from {{ source(source_name, source_table) }} raw_rows
        join {{ source('ingest', 'files') }} as files on files.file_id = raw_rows._file_id
        where files.status = 'superseded'
        except
        select '{{ prefix }}' || {{ raw_key }} from {{ source(source_name, source_table) }} where _is_current
    ) gone
    where {{ key_expression }} = gone.raw_key
{%- endmacro %}

{#- The business key of an NGO row (stg_stk__aid_rows.ngo_row_id), as an expression over raw.stk__aid_rows. -#}
{% macro ngo_row_key() -%}
    ngo_code || ':' || delivery_month || ':' || row_in_file
{%- endmacro %}

{#- Did a delivery since the last build change the municipal registry (persons or households)? Rows left unlinked
    then get another chance to link: their person may be registered now. -#}
{% macro registry_changed_since_last_build() -%}
    exists (
        select 1 from {{ source('ingest', 'files') }}
        where source = 'belediye' and feed in ('persons', 'households') and status = 'loaded'
          and rows_loaded > 0 and file_id > {{ last_built_file_id() }}
    )
{%- endmacro %}

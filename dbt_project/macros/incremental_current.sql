{#- Incremental facts over the loader's current rows (see current_rows).

    Every incremental fact carries `built_through_file_id`: the newest manifest file the build that wrote the row
    had seen. The next build takes the current rows of later files, plus the keys of any file superseded since
    (their current version may now be an older one), and replaces those keys (delete+insert on the unique key).
    A key that only a superseded file carried has no current version left: drop_rows_no_longer_current, a
    post-hook, removes it. A full refresh rebuilds the same rows from scratch. -#}

{#- The build's watermark: the newest file before which every file had finished landing when the build started
    (kopru.ingest.manifest.landed_through_file_id, passed as a var); rows of later files the build happens to see
    are redone by the next build. -#}
{% macro built_through_file_id() -%}
    {%- if var('built_through_file_id', none) is not none -%}
        {{ var('built_through_file_id') }}::bigint
    {%- else -%}
        (select coalesce(max(file_id), 0) from {{ source('ingest', 'files') }})::bigint
    {%- endif -%}
{%- endmacro %}

{#- The watermark of `this`, read once per use when the model runs and written into the SQL as a number (the
    planner then uses it as a constant; the incremental models index built_through_file_id for it). -#}
{% macro last_built_file_id() -%}
    {%- if execute and is_incremental() -%}
        {{ run_query("select coalesce(max(built_through_file_id), 0) from " ~ this).columns[0].values()[0] }}
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}

{#- Keys, as the raw table names them, that a file superseded after the last build carried. -#}
{% macro keys_superseded_since_last_build(source_relation, raw_key) -%}
    select raw_rows.{{ raw_key }}
    from {{ source_relation }} as raw_rows
    join {{ source('ingest', 'files') }} as files on files.file_id = raw_rows._file_id
    where files.status = 'superseded' and files.superseded_by > {{ last_built_file_id() }}
{%- endmacro %}

{#- The incremental batch: the rows of `relation` (a staging model) from files after the last build, and the rows of
    keys a later file superseded or `also_redo_keys` (a query of `key_column` values) names. Two arms rather than
    one `or`: the first reads the day's files by the raw table's (_file_id, …) key; the second runs only when it
    has keys to redo (a one-time filter), and then looks them up — an `or` of the two made every build read the
    feed's whole history. -#}
{% macro rows_changed_since_last_build(relation, file_id_column, key_column, source_relation, raw_key,
                                       also_redo_keys=none) -%}
    select * from {{ relation }}
    where {{ file_id_column }} > {{ last_built_file_id() }}
    union all
    select * from {{ relation }}
    where {{ file_id_column }} <= {{ last_built_file_id() }}
      and exists (select 1 from ({{ keys_to_redo(source_relation, raw_key, also_redo_keys) }}) as keys_to_redo)
      and {{ key_column }} in ({{ keys_to_redo(source_relation, raw_key, also_redo_keys) }})
{%- endmacro %}

{#- The keys rows_changed_since_last_build redoes besides the new files' rows. -#}
{% macro keys_to_redo(source_relation, raw_key, also_redo_keys) -%}
    {{ keys_superseded_since_last_build(source_relation, raw_key) }}
    {%- if also_redo_keys %}
    union all
    {{ also_redo_keys }}
    {%- endif %}
{%- endmacro %}

{#- Post-hook (pass it as a string, "{{ drop_rows_no_longer_current(...) }}", so that it renders when the model
    runs and `this` is the model's table): delete the rows of `this` whose key only superseded files carried and
    so has no current version now. `raw_key_columns` are the business key's columns in raw.<source_table>; after
    their key_text is the value `key_expression` has in `this`, or its record_pseudonym in `record_namespace`, in a
    mart that pseudonymises its keys. Only superseded rows are read, and each is looked up by the raw table's key
    index. -#}
{% macro drop_rows_no_longer_current(key_expression, source_name, source_table, raw_key_columns,
                                     record_namespace=none) -%}
    {%- set raw_key = key_text('superseded_rows', raw_key_columns) -%}
    delete from {{ this }} fact
    using (
        select {{ record_pseudonym(record_namespace, raw_key) if record_namespace else raw_key }} as raw_key
        from {{ source(source_name, source_table) }} as superseded_rows
        join {{ source('ingest', 'files') }} as files on files.file_id = superseded_rows._file_id
        where files.status = 'superseded'
          and not exists (
              select 1 from {{ source(source_name, source_table) }} as current_rows
              where current_rows._is_current and not current_rows._is_absent
                {% for column in raw_key_columns %}and current_rows.{{ column }} = superseded_rows.{{ column }}
                {% endfor %}
          )
    ) gone
    where {{ key_expression }} = gone.raw_key
{%- endmacro %}

{#- A business key as one text: its columns (of `relation_alias`, when given) joined by ':'. -#}
{% macro key_text(relation_alias, columns) -%}
    {%- for column in columns -%}
        {{ relation_alias ~ '.' if relation_alias }}{{ column }}{{ " || ':' || " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The business key of an NGO row in raw.stk__aid_rows; as text (key_text), stg_stk__aid_rows.ngo_row_id. -#}
{% macro ngo_row_key_columns() -%}
    {{ return(['ngo_code', 'delivery_month', 'row_in_file']) }}
{%- endmacro %}

{% macro ngo_row_key() -%}
    {{ key_text('', ngo_row_key_columns()) }}
{%- endmacro %}

{#- Did a delivery since the last build change the municipal registry (persons or households)? Rows left unlinked
    then get another chance to link: their person may be registered now. -#}
{% macro registry_changed_since_last_build() -%}
    exists (
        select 1 from {{ source('ingest', 'files') }}
        where source = 'belediye' and feed in ('persons', 'households') and status = 'loaded'
          and (rows_loaded > 0 or keys_retired > 0) and file_id > {{ last_built_file_id() }}
    )
{%- endmacro %}

{#- Files of the registry feeds (`feeds`: persons, households) that a delivery since the last build changed: loaded
    with rows, or superseded. -#}
{% macro registry_files_changed_since_last_build(feeds) -%}
    source = 'belediye' and feed in ('{{ feeds | join("', '") }}')
    and ((status = 'loaded' and (rows_loaded > 0 or keys_retired > 0) and file_id > {{ last_built_file_id() }})
         or superseded_by > {{ last_built_file_id() }})
{%- endmacro %}

{#- The earliest day the rows of files loaded since the last build, or of files superseded since, speak of. Two
    lookups by the raw table's (_file_id, …) key: an `or` of the two read the feed's whole history. -#}
{% macro earliest_day_in_files_since_last_build(source_relation, day_column) -%}
    select least(
        (select min({{ day_column }}) from {{ source_relation }} where _file_id > {{ last_built_file_id() }}),
        (select min({{ day_column }}) from {{ source_relation }}
         where _file_id = any(array(select file_id from {{ source('ingest', 'files') }}
                                    where superseded_by > {{ last_built_file_id() }})))
    )
{%- endmacro %}

{#- For the per-family half-year models: the earliest day a change since the last build can touch — new or
    re-linked aid (fct_aid rows this build wrote; not for `with_aid=false`, the family-state model built beside
    fct_aid), services, referrals, assessments (a need level holds until the next one), İŞKUR offers (a sanction
    runs 12 months on) and registry snapshots that changed something. Every half-year ending on or after it is
    rebuilt; NULL when nothing changed. -#}
{% macro earliest_day_changed_for_families(with_aid=true) -%}
    least(
        {% if with_aid -%}
        (select min(delivered_on) from {{ ref('fct_aid') }} where built_through_file_id > {{ last_built_file_id() }}),
        {%- endif %}
        ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__services'), 'opened_on') }}),
        ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__employment_referrals'),
                                                   'referred_on') }}),
        ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__assessments'), 'visit_date') }}),
        ({{ earliest_day_in_files_since_last_build(source('devlet', 'devlet__iskur_teklif'), 'teklif_tarihi') }}),
        (select min(delivered_on) - 1 from {{ source('ingest', 'files') }}
         where {{ registry_files_changed_since_last_build(['persons', 'households']) }})
    )
{%- endmacro %}

{#- The first day of the earliest half-year a build of the per-family half-year marts redoes: read once when the
    model runs and written into the SQL as a literal, so that the planner reads only those half-years' rows by index
    (as a subquery it guessed a third of the table and scanned it all). '-infinity' on a full build, 'infinity'
    when nothing changed. -#}
{% macro families_rebuilt_from_day(with_aid=true) -%}
    {%- if execute and is_incremental() -%}
        {%- set day = run_query("select " ~ earliest_day_changed_for_families(with_aid)).columns[0].values()[0] -%}
        {%- if day is none -%}
            'infinity'::date
        {%- else -%}
            '{{ day.year }}-{{ "01" if day.month <= 6 else "07" }}-01'::date
        {%- endif -%}
    {%- else -%}
        '-infinity'::date
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a per-family half-year mart: drop the half-years the build will redo (all of them on a full build,
    when the table is created anew). Pass it as a string so that it renders when the model runs. -#}
{% macro delete_half_years_to_rebuild(with_aid=true) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where half_year in (
        select period from {{ ref('int_periods') }}
        where period_kind = 'half_year' and period_start >= {{ families_rebuilt_from_day(with_aid) }}
    )
    {% else %}
    select 1
    {% endif %}
{%- endmacro %}

{#- The final select of an incremental model over the CTE `final_cte`, adding `built_through_file_id`: a row the
    build re-did but found unchanged keeps the watermark of the build that last changed it, so models downstream
    that look for changed rows (earliest_day_changed_for_families) see only real changes. The previous version is
    looked up row by row through the unique index on `key`: a day's batch is a few hundred rows, and a join made the
    planner hash the whole table for them. -#}
{% macro with_build_watermark(final_cte, key) -%}
    {% if is_incremental() %}
    {% set columns = adapter.get_columns_in_relation(this) | map(attribute='name')
                     | reject('equalto', 'built_through_file_id') | list %}
    select {{ final_cte }}.*,
           coalesce(
               (select previous.built_through_file_id from {{ this }} as previous
                where previous.{{ key }} = {{ final_cte }}.{{ key }}
                  and ({% for column in columns %}previous.{{ column }}{{ ", " if not loop.last }}{% endfor %})
                      is not distinct from
                      ({% for column in columns %}{{ final_cte }}.{{ column }}{{ ", " if not loop.last }}{% endfor %})),
               {{ built_through_file_id() }}
           ) as built_through_file_id
    from {{ final_cte }}
    {% else %}
    select {{ final_cte }}.*, {{ built_through_file_id() }} as built_through_file_id from {{ final_cte }}
    {% endif %}
{%- endmacro %}

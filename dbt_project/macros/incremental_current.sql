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

{#- The earliest day of the fct_aid rows this build wrote (of one institution, if given). `offset 0`: read the rows by
    the watermark's index, then take their earliest day. Without it PostgreSQL may walk the delivered_on index from
    the oldest day for the first row past the watermark — the newest rows, at its far end: 14 s of an 18 M-row
    fct_aid for a day's 4,529 rows (docs/decisions.md, 2026-12-04). -#}
{% macro earliest_aid_day_written_since_last_build(institution=none) -%}
    select min(written.delivered_on) from (
        select delivered_on from {{ ref('fct_aid') }}
        where built_through_file_id > {{ last_built_file_id() }}
          {%- if institution %} and institution = {{ dbt.string_literal(institution) }}{% endif %}
        offset 0) as written
{%- endmacro %}

{#- For the per-family half-year models: the earliest day a change since the last build can touch — new or
    re-linked aid (fct_aid rows this build wrote; not for `with_aid=false`, the family-state model built beside
    fct_aid), services, referrals, assessments (a need level holds until the next one), İŞKUR offers (a sanction
    runs 12 months on) and registry snapshots that changed something. Every half-year ending on or after it is
    rebuilt; NULL when nothing changed. -#}
{% macro earliest_day_changed_for_families(with_aid=true, also_changed_on=none) -%}
    least(
        {% if with_aid -%}
        ({{ earliest_aid_day_written_since_last_build() }}),
        -- the deliveries of aid files superseded since: fct_aid drops those only they carried, and a dropped row
        -- leaves no watermark behind
        ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__aid'), 'delivered_on') }}),
        ({{ earliest_day_in_files_since_last_build(source('stk', 'stk__aid_rows'), 'delivered_on') }}),
        ({{ earliest_day_in_files_since_last_build(source('devlet', 'devlet__sydv_yardim'), 'odeme_tarihi') }}),
        {%- endif %}
        {% if also_changed_on -%}
        ({{ also_changed_on }}),
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
{% macro families_rebuilt_from_day(with_aid=true, also_changed_on=none) -%}
    {{ half_year_start_of(earliest_day_changed_for_families(with_aid, also_changed_on)) }}
{%- endmacro %}

{#- The first day of the half-year of the day `changed_on` (an SQL expression) gives, read once as a literal:
    '-infinity' on a full build, 'infinity' when it gives NULL (nothing changed). -#}
{% macro half_year_start_of(changed_on) -%}
    {%- if execute and is_incremental() -%}
        {%- set day = run_query("select " ~ changed_on).columns[0].values()[0] -%}
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
{% macro delete_half_years_to_rebuild(with_aid=true, also_changed_on=none) -%}
    {{ delete_half_years_from(families_rebuilt_from_day(with_aid, also_changed_on) if is_incremental() else none) }}
{%- endmacro %}

{#- The same, from the half-year that begins on `rebuilt_from_day` (families_rebuilt_from_day, half_year_start_of). -#}
{% macro delete_half_years_from(rebuilt_from_day) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where half_year in ({{ half_years_from(rebuilt_from_day) }})
    {% else %}
    select 1
    {% endif %}
{%- endmacro %}

{#- The half-years that begin on or after `day` (an SQL date expression), as rows of `half_year`. -#}
{% macro half_years_from(day) -%}
    select period as half_year from {{ ref('int_periods') }}
    where period_kind = 'half_year' and period_start >= {{ day }}
{%- endmacro %}

{#- The same for a report mart of every reporting period (half-years and years, int_periods, in column `period`):
    drop the periods that end on or after the first rebuilt day; the model then recomputes those periods from the
    first day of their year (rebuilt_periods_start), so that a year counts each family once across its halves. -#}
{% macro delete_periods_to_rebuild(also_changed_on=none) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where period in ({{ periods_to_rebuild(families_rebuilt_from_day(also_changed_on=also_changed_on)) }})
    {% else %}
    select 1
    {% endif %}
{%- endmacro %}

{#- The periods a report mart redoes from `rebuilt_from_day`: those that end on or after it. The pre-hook's delete
    and the model's recompute both read this, so that they drop and write the same periods. -#}
{% macro periods_to_rebuild(rebuilt_from_day) -%}
    select period from {{ ref('int_periods') }} where period_end >= {{ rebuilt_from_day }}
{%- endmacro %}

{#- The first day the rows of the periods a report mart redoes can speak of: the start of the rebuilt day's year. -#}
{% macro rebuilt_periods_start(rebuilt_from_day) -%}
    date_trunc('year', {{ rebuilt_from_day }})::date
{%- endmacro %}

{#- Households whose registry row changed since the last build (a new version, a snapshot that no longer carried
    them, a superseded file): what a mart reading where a family lives *now* must redo for them. -#}
{% macro households_changed_since_last_build() -%}
    select household_id, household_key from {{ source('belediye', 'belediye__households') }}
    where _file_id > {{ last_built_file_id() }}
    union all
    select household_id, household_key from {{ source('belediye', 'belediye__households') }}
    where _file_id = any(array(select file_id from {{ source('ingest', 'files') }}
                               where superseded_by > {{ last_built_file_id() }}))
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

{#- The earliest aid delivery of a family whose registry row changed since the last build, in a half-year the family
    has no registry state for: fct_aid_mahalle_half_year places such aid where the family lives now. The `exists` is
    a one-time filter: on a day no registry row changed nothing below it runs — the anti join hashed the whole
    state model (6.4 M rows at ten districts, 2.2 s twice a build) even for no aid rows to check. -#}
{% macro aid_placed_by_address_now() -%}
    select min(aid.delivered_on) from {{ ref('fct_aid') }} as aid
    where exists (select 1 from ({{ households_changed_since_last_build() }}) as changed)
      and aid.household_key in (select household_key from ({{ households_changed_since_last_build() }}) as changed)
      and not exists (select 1 from {{ ref('int_household_state_half_year') }} as state
                      where state.household_key = aid.household_key and state.half_year = aid.half_year)
{%- endmacro %}

{#- The first day of the earliest period whose PG4.1.4 or PG4.1.5 in fct_indicator_period is not the figure
    int_plan_card_figures_per_period holds for it: the indicators decide themselves what a delivery changes
    (int_indicator_actuals), and the card's figures follow them. -#}
{% macro plan_card_indicators_changed_on() -%}
    select min(periods.period_start)
    from {{ ref('fct_indicator_period') }} as indicators
    join {{ ref('int_periods') }} as periods using (period)
    where indicators.indicator_code in ('PG4.1.4', 'PG4.1.5')
      and not exists (
          select 1 from {{ this }} as figures
          where figures.period = indicators.period
            and figures.measure_code = case indicators.indicator_code when 'PG4.1.4' then 'persons_referred'
                                                                      else 'isas_entry_pct' end
            and figures.value is not distinct from indicators.actual_value
      )
{%- endmacro %}

{#- What fct_graduation_half_year redoes from (before half_year_start_of): an ending is judged by the municipal aid
    of the 365 days after it, the İŞKUR offers around it, whether a year has passed by the latest delivery, and
    whether the family's case was closed for work — so the earliest of: a changed municipal delivery (a new one, or
    one of a file superseded since) and a changed offer, each less 365 days; the latest delivery as the last build
    saw it, less 365 days; and the first municipal aid of a family whose registry rows, now or before, say it was
    closed for work and changed since. -#}
{% macro graduation_changed_on() -%}
    least(
        ({{ earliest_aid_day_written_since_last_build(institution='belediye') }}) - 365,
        ({{ earliest_day_in_files_since_last_build(source('belediye', 'belediye__aid'), 'delivered_on') }}) - 365,
        ({{ earliest_day_in_files_since_last_build(source('devlet', 'devlet__iskur_teklif'), 'teklif_tarihi') }})
            - 365,
        (select max(delivered_on) from {{ source('ingest', 'files') }}
         where status = 'loaded' and file_id <= {{ last_built_file_id() }}) - 365,
        (select min(aid.delivered_on) from {{ ref('fct_aid') }} as aid
         where aid.institution = 'belediye'
           and aid.household_key in (
               select changed.household_key from ({{ households_changed_since_last_build() }}) as changed
               where exists (select 1 from {{ source('belediye', 'belediye__households') }} as versions
                             where versions.household_id = changed.household_id
                               and versions.closed_reason = 'ise_girdi')))
    )
{%- endmacro %}
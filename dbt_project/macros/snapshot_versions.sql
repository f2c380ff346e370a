{#- Type-2 history from the delivered snapshots: every version the loader kept of a snapshot feed's rows, valid
    from the day its snapshot describes (a snapshot delivered on day D is the registry at the end of D − 1) until
    the next version of the same key, or until a full snapshot no longer carried the key (its `_is_absent` version
    ends the one before and is not a version itself). `columns` are select expressions over the raw row. With
    `keys_having` (a condition on the raw row), only the keys of which some version meets it, with every version
    of each. -#}
{% macro snapshot_versions(source_relation, key, columns, keys_having=none) -%}
    select
        {% for column in columns %}{{ column.split(' as ')[-1] }},
        {% endfor %}valid_from,
        valid_to
    from (
        select
            {% for column in columns %}{{ column }},
            {% endfor %}valid_from,
            lead(valid_from) over (partition by {{ key }} order by valid_from, _file_id, _row_number) as valid_to,
            _is_absent
        from (
            select raw_rows.*, files.delivered_on - 1 as valid_from
            from {{ source_relation }} as raw_rows
            join {{ source('ingest', 'files') }} as files
              on files.file_id = raw_rows._file_id and files.status = 'loaded'
            {% if keys_having %}
            where raw_rows.{{ key }} in (select {{ key }} from {{ source_relation }} where {{ keys_having }})
            {% endif %}
        ) versions
    ) ended
    where not _is_absent
{%- endmacro %}

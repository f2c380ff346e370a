{#- The marts' pseudonym of a source record: `id` (an SQL expression) in its source's `namespace` ('belediye', 'stk',
    'sydv', 'iskur', 'sosyalkart'), through the loader's own HMAC function (ingest.pseudonym) under the record key
    derived from the pseudonym key (kopru.identity.record_key), so that it is identity.pseudonym(id, record_key,
    namespace) in Python too. BI users can count and join records by it; only raw and staging, which they cannot
    read, hold the source's ID. The pads are read once per statement (a scalar subquery becomes an init plan). -#}
{% macro record_pseudonym(namespace, id) -%}
    ingest.pseudonym(({{ id }})::text, '{{ namespace }}',
                     (select inner_pad from {{ source('ingest', 'record_pseudonym_key') }}),
                     (select outer_pad from {{ source('ingest', 'record_pseudonym_key') }}))
{%- endmacro %}

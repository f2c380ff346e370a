{#- The marts' pseudonym of a source record (`clear_key`, e.g. 'belediye:' || aid_id): HMAC-SHA256 under a key
    derived from the pseudonym key, 32 hex characters, the same as kopru.identity.record_pseudonym. BI users can
    count and join records by it; only the raw and staging schemas, which they cannot read, hold the source's ID.
    The pads are read once per statement (a scalar subquery becomes an init plan). -#}
{% macro record_pseudonym(clear_key) -%}
    left(encode(sha256(
        (select outer_pad from {{ source('ingest', 'record_pseudonym_key') }})
        || sha256((select inner_pad from {{ source('ingest', 'record_pseudonym_key') }}) || convert_to({{ clear_key }}, 'UTF8'))
    ), 'hex'), 32)
{%- endmacro %}

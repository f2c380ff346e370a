-- One row per municipal aid record with its latest ISAS receipt (PG4.1.5 counts a record as entered when
-- ISAS accepted it, not when the municipal file claims an isas_ref).
--
-- Incremental (macros/incremental_current.sql): a build redoes the records of new aid files and the records a new
-- (or superseded) ISAS receipt speaks of; fct_aid takes the municipal records from here. The delivered_on index
-- serves int_periods, which reads the first and last day.
{{ config(
    materialized='incremental',
    unique_key='aid_id',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['aid_id'], 'unique': True},
             {'columns': ['delivered_on']}],
    post_hook=["{{ drop_rows_no_longer_current('fact.aid_id', 'belediye', 'belediye__aid', ['aid_id']) }}"],
) }}

with aid as (
    {% if is_incremental() %}
    -- also the records a receipt delivered (or superseded) since the last build speaks of
    {% set receipts_since_last_build %}
        select belediye_yardim_no from {{ source('devlet', 'devlet__isas_alindi') }}
        where _file_id > {{ last_built_file_id() }}
        union all
        {{ keys_superseded_since_last_build(source('devlet', 'devlet__isas_alindi'), 'belediye_yardim_no') }}
    {% endset %}
    {{ rows_changed_since_last_build(ref('stg_belediye__aid'), 'file_id', 'aid_id', source('belediye', 'belediye__aid'),
                                     'aid_id', also_redo_keys=receipts_since_last_build) }}
    {% else %}
    select * from {{ ref('stg_belediye__aid') }}
    {% endif %}
),

receipts as (
    select distinct on (aid_id) aid_id, receipt_status, received_at, rejection_reason
    from {{ ref('stg_devlet__isas_alindi') }}
    {% if is_incremental() %}
    where aid_id in (select aid_id from aid)
    {% endif %}
    order by aid_id, received_at desc
),

final as (
    select
        aid.aid_id,
        aid.household_id,
        aid.household_key,
        aid.person_key,
        aid.aid_type,
        aid.channel,
        aid.amount_try,
        aid.quantity,
        aid.delivered_on,
        aid.isas_ref is not null as municipality_claims_entry,
        receipts.receipt_status as latest_receipt_status,
        receipts.received_at as latest_receipt_at,
        receipts.rejection_reason,
        coalesce(receipts.receipt_status = 'kabul', false) as is_entered_in_isas,
        case
            when receipts.receipt_status = 'kabul' then 'entered'
            when receipts.receipt_status = 'red' then 'rejected'
            else 'not_entered'
        end as isas_status
    from aid
    left join receipts using (aid_id)
)

{{ with_build_watermark('final', 'aid_id') }}

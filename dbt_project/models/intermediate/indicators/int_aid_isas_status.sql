-- One row per municipal aid record with its latest ISAS receipt (PG4.1.5 counts a record as entered when
-- ISAS accepted it, not when the municipal file claims an isas_ref).
with aid as (
    select * from {{ ref('stg_belediye__aid') }}
),

receipts as (
    select distinct on (aid_id) aid_id, receipt_status, received_at, rejection_reason
    from {{ ref('stg_devlet__isas_alindi') }}
    order by aid_id, received_at desc
),

joined as (
    select
        aid.aid_id,
        aid.household_key,
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

select * from joined

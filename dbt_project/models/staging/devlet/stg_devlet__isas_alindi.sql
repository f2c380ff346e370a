with source as (
    {{ current_rows(source('devlet', 'devlet__isas_alindi')) }}
),

renamed as (
    select
        isas_ref,
        belediye_yardim_no as aid_id,
        alinma_zamani as received_at,
        durum as receipt_status,
        red_nedeni as rejection_reason
    from source
)

select * from renamed

with source as (
    {{ current_rows(source('sosyalkart', 'sosyalkart__transactions')) }}
),

renamed as (
    select
        islem_no as transaction_id,
        kart_no as masked_card_number,
        hane_no as household_id,
        household_key,
        islem_zamani as transacted_at,
        isyeri_kategorisi as merchant_category,
        tutar as amount_try,
        islem_tipi as transaction_type,
        _file_id as file_id,
        _delivered_on as file_delivered_on
    from source
)

select * from renamed

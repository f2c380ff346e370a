with source as (
    {{ current_rows(source('devlet', 'devlet__sydv_yardim')) }}
),

renamed as (
    select
        kayit_no as sydv_record_id,
        tc_kimlik_no,
        tc_kimlik_no_status,
        tc_kimlik_no_pseudonym,
        program_kodu as program_code,
        program_adi as program_name,
        tutar as amount_try,
        odeme_tarihi as paid_on,
        donem as payment_month,
        _file_id as file_id
    from source
)

select * from renamed

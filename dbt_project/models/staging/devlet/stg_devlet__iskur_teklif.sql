with source as (
    {{ current_rows(source('devlet', 'devlet__iskur_teklif')) }}
),

renamed as (
    select
        teklif_no as offer_id,
        tc_kimlik_no,
        tc_kimlik_no_status,
        tc_kimlik_no_pseudonym,
        teklif_tarihi as offered_on,
        isyeri as employer,
        pozisyon as position,
        sonuc as outcome,
        coalesce(gecerli_mazeret, false) as has_valid_excuse,
        sonuc_tarihi as outcome_on
    from source
)

select * from renamed

with source as (
    {{ current_rows(source('stk', 'stk__aid_rows')) }}
),

renamed as (
    select
        {{ ngo_row_key() }} as ngo_row_id,
        ngo_code,
        delivery_month,
        row_in_file,
        tckn,
        tckn_status,
        tckn_pseudonym,
        first_name,
        last_name,
        {{ fold_turkish('first_name') }} as first_name_folded,
        {{ fold_turkish('last_name') }} as last_name_folded,
        birth_date,
        coalesce(birth_year, extract(year from birth_date)::integer) as birth_year,
        mahalle_as_written,
        {{ mahalle_core('mahalle_as_written') }} as mahalle_core,
        nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') as phone_digits,
        aid_word,
        aid_type,
        quantity,
        amount_try,
        delivered_on,
        _file_id as file_id
    from source
)

select * from renamed

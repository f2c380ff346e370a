with source as (
    {{ current_rows(source('belediye', 'belediye__households')) }}
),

renamed as (
    select
        household_id,
        household_key,
        head_tckn,
        head_tckn_status,
        head_tckn_pseudonym,
        mahalle_code,
        mahalle_name,
        address_line,
        phone,
        household_size,
        registered_on,
        status as household_status,
        closed_reason,
        coalesce(protection_status, 'none') as protection_status,
        updated_at
    from source
)

select * from renamed

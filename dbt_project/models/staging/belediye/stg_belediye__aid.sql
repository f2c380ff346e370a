with source as (
    {{ current_rows(source('belediye', 'belediye__aid')) }}
),

renamed as (
    select
        aid_id,
        household_id,
        household_key,
        nullif(person_id, '') as person_id,
        person_key,
        aid_type,
        channel,
        amount_try,
        quantity,
        delivered_on,
        nullif(isas_ref, '') as isas_ref,
        isas_entered_on,
        _file_id as file_id,
        _delivered_on as file_delivered_on
    from source
)

select * from renamed

with source as (
    {{ current_rows(source('belediye', 'belediye__services')) }}
),

renamed as (
    select
        service_id,
        household_id,
        household_key,
        person_id,
        person_key,
        service_type,
        provider_unit,
        opened_on,
        closed_on,
        outcome
    from source
)

select * from renamed

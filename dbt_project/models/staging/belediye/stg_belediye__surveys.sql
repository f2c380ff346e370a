with source as (
    {{ current_rows(source('belediye', 'belediye__surveys')) }}
),

renamed as (
    select
        response_id,
        survey_wave,
        responded_on,
        nullif(household_id, '') as household_id,
        household_key,
        channel,
        q_satisfaction,
        q_fairness
    from source
)

select * from renamed

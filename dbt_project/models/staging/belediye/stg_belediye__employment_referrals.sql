with source as (
    {{ current_rows(source('belediye', 'belediye__employment_referrals')) }}
),

renamed as (
    select
        referral_id,
        person_id,
        person_key,
        tckn,
        tckn_status,
        tckn_pseudonym,
        referred_on,
        channel,
        program,
        referred_by
    from source
)

select * from renamed

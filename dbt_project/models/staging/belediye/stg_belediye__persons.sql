with source as (
    {{ current_rows(source('belediye', 'belediye__persons')) }}
),

renamed as (
    select
        person_id,
        person_key,
        household_id,
        household_key,
        tckn,
        tckn_status,
        tckn_pseudonym,
        tckn_status = 'valid' and left(tckn, 2) = '99' as is_foreign_national,
        first_name,
        last_name,
        {{ fold_turkish('first_name') }} as first_name_folded,
        {{ fold_turkish('last_name') }} as last_name_folded,
        birth_date,
        sex,
        relation,
        disability_pct,
        is_student,
        school_level,
        employable,
        employment_status,
        updated_at,
        _delivered_on as snapshot_delivered_on
    from source
)

select * from renamed

with source as (
    {{ current_rows(source('belediye', 'belediye__assessments')) }}
),

renamed as (
    select
        assessment_id,
        household_id,
        household_key,
        visit_date,
        assessor_id,
        monthly_income_try,
        monthly_rent_try,
        need_score,
        need_level,
        next_visit_due,
        _file_id as file_id
    from source
)

select * from renamed

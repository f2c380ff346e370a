-- One row per aid delivery. Institution: the municipality (NGO and state aid join here as their feeds land).
with aid as (
    select * from {{ ref('stg_belediye__aid') }}
),

catalogue as (
    select * from {{ ref('aid_type_catalogue') }}
),

isas as (
    select * from {{ ref('int_aid_isas_status') }}
),

final as (
    select
        'belediye:' || aid.aid_id as aid_key,
        'belediye'::text as institution,
        aid.household_key,
        aid.person_key,
        aid.aid_type,
        catalogue.need_category,
        aid.channel,
        aid.amount_try,
        aid.quantity,
        aid.delivered_on,
        {{ half_year('aid.delivered_on') }} as half_year,
        'municipal_id'::text as link_method,
        isas.isas_status
    from aid
    left join catalogue using (aid_type)
    left join isas using (aid_id)
)

select
    aid_key::text as aid_key,
    institution::text as institution,
    household_key::text as household_key,
    person_key::text as person_key,
    aid_type::text as aid_type,
    need_category::text as need_category,
    channel::text as channel,
    amount_try::numeric(14,2) as amount_try,
    quantity::integer as quantity,
    delivered_on::date as delivered_on,
    half_year::text as half_year,
    link_method::text as link_method,
    isas_status::text as isas_status
from final

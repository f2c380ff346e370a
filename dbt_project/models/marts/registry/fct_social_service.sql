-- One row per social service opened for a family member (Women & Family and Social Support directorates).
select
    {{ record_pseudonym('belediye', 'service_id') }}::text as service_key,
    household_key::text as household_key,
    person_key::text as person_key,
    service_type::text as service_type,
    provider_unit::text as provider_unit,
    opened_on::date as opened_on,
    closed_on::date as closed_on,
    {{ half_year('opened_on') }}::text as half_year,
    -- the case system's free text, as a closed list (no delivered sentence in the marts)
    {{ closed_list('outcome', ['tamamlandi', 'devam', 'yonlendirildi', 'vazgecildi']) }}::text as outcome
from {{ ref('stg_belediye__services') }}

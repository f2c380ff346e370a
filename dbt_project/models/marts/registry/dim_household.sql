-- One row per family (a municipal household), as of the latest delivery: where it lives, its size and status,
-- and its latest need assessment. No address, phone or head's ID: the family is its keyed pseudonym.
with households as (
    select * from {{ ref('stg_belediye__households') }}
),

need as (
    select * from {{ ref('int_household_need_latest') }}
),

families as (
    select household_key, family_key from {{ ref('int_household_families') }}
)

select
    households.household_key::text as household_key,
    families.family_key::text as family_key,
    households.mahalle_code::text as mahalle_code,
    households.mahalle_name::text as mahalle_name,
    households.household_size::integer as household_size,
    households.registered_on::date as registered_on,
    households.household_status::text as household_status,
    -- the case system's free text, as a closed list (no delivered sentence in the marts)
    {{ closed_list('households.closed_reason', ['ihtiyac_kalmadi', 'ise_girdi', 'ilceden_tasindi', 'vefat',
                                                'kendi_talebi', 'yaptirim']) }}::text as closed_reason,
    households.protection_status::text as protection_status,
    need.need_score::integer as need_score,
    need.need_level::integer as need_level,
    need.assessed_on::date as assessed_on,
    need.next_visit_due::date as next_visit_due,
    coalesce(need.assessment_overdue, false)::boolean as assessment_overdue,
    (need.household_key is null)::boolean as never_assessed
from households
left join need using (household_key)
left join families using (household_key)

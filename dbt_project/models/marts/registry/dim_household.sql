-- One row per family (a municipal household), as of the latest delivery: where it lives, its size and status,
-- and its latest need assessment. No address, phone or head's ID: the family is its keyed pseudonym.
--
-- What a neighbour could know of a family — its mahalle, its size, whether it is under protection, when it was
-- registered — is published only as far as at least `min_families_alike` families share it (k-anonymity). A family
-- that would stand out loses its registration year first, then its size band, its protection status and last its
-- mahalle (a NULL matches any value, so each family then looks like every family sharing what is left).
{%- set k = var('min_families_alike') %}
with households as (
    select * from {{ ref('stg_belediye__households') }}
),

need as (
    select * from {{ ref('int_household_need_latest') }}
),

families as (
    select household_key, family_key from {{ ref('int_household_families') }}
),

described as (
    select
        households.*,
        {{ household_size_band('households.household_size') }} as household_size_band,
        extract(year from households.registered_on)::integer as registered_year
    from households
),

-- how many families share each step of what could be known of them, from the most to the least detailed
alike as (
    select
        described.*,
        count(*) over (partition by mahalle_code, protection_status, household_size_band, registered_year)
            as alike_to_the_year,
        count(*) over (partition by mahalle_code, protection_status, household_size_band) as alike_to_the_size,
        count(*) over (partition by mahalle_code, protection_status) as alike_to_the_protection,
        count(*) over (partition by mahalle_code) as alike_in_the_mahalle
    from described
)

select
    alike.household_key::text as household_key,
    families.family_key::text as family_key,
    (case when alike.alike_in_the_mahalle >= {{ k }} then alike.mahalle_code end)::text as mahalle_code,
    (case when alike.alike_in_the_mahalle >= {{ k }} then alike.mahalle_name end)::text as mahalle_name,
    (case when alike.alike_to_the_size >= {{ k }} then alike.household_size_band end)::text as household_size_band,
    (case when alike.alike_to_the_year >= {{ k }} then alike.registered_year end)::integer as registered_year,
    alike.household_status::text as household_status,
    -- the case system's free text, as a closed list (no delivered sentence in the marts)
    {{ closed_list('alike.closed_reason', ['ihtiyac_kalmadi', 'ise_girdi', 'ilceden_tasindi', 'vefat',
                                           'kendi_talebi', 'yaptirim']) }}::text as closed_reason,
    (case when alike.alike_to_the_protection >= {{ k }} then alike.protection_status end)::text as protection_status,
    need.need_score::integer as need_score,
    need.need_level::integer as need_level,
    need.assessed_on::date as assessed_on,
    need.next_visit_due::date as next_visit_due,
    coalesce(need.assessment_overdue, false)::boolean as assessment_overdue,
    (need.household_key is null)::boolean as never_assessed
from alike
left join need using (household_key)
left join families using (household_key)

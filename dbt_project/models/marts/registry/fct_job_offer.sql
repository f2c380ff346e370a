-- One row per İŞKUR job offer, attached to a registered person by a valid ID, with the running count of unexcused
-- refusals the three-refusal rule reads.
select
    {{ record_pseudonym('iskur', 'offer_id') }}::text as offer_key,
    person_key::text as person_key,
    household_key::text as household_key,
    offered_on::date as offered_on,
    {{ half_year('offered_on') }}::text as half_year,
    outcome::text as outcome,
    has_valid_excuse::boolean as has_valid_excuse,
    outcome_on::date as outcome_on,
    is_referred::boolean as is_referred,
    (is_referred and is_unexcused_refusal)::boolean as counts_as_refusal,
    unexcused_refusal_number::integer as unexcused_refusal_number
from {{ ref('int_job_offer_refusals') }}

-- A family is a municipal household; household records whose head carries the same valid TCKN/YKN are one family
-- (a family re-registered under a new household number stays one family). The family takes the key of its
-- earliest-registered household record.
with households as (
    select household_id, household_key, head_tckn_status, head_tckn_pseudonym, registered_on
    from {{ ref('stg_belediye__households') }}
)

select
    household_id,
    household_key,
    case
        when head_tckn_status = 'valid' then first_value(household_key) over (
            partition by head_tckn_pseudonym order by registered_on, household_id)
        else household_key
    end as family_key
from households

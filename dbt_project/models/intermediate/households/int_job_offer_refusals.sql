-- İŞKUR offers of referred beneficiaries, with the running count of unexcused refusals (`ret`/`gelmedi` without
-- `gecerliMazeret`). Acceptance resets the count only when var('sanction_acceptance_resets') says so.
-- A table: fct_job_offer and int_sanction_step_aid both read it, and as a view each ran its two windows over every
-- offer again.
{{ config(materialized='table') }}
with offers as (
    select * from {{ ref('stg_devlet__iskur_teklif') }}
),

persons as (
    select person_key, household_key, tckn_pseudonym from {{ ref('stg_belediye__persons') }}
    where tckn_status = 'valid'
),

referrals as (
    select person_key, min(referred_on) as first_referred_on
    from {{ ref('stg_belediye__employment_referrals') }}
    group by person_key
),

attached as (
    select
        offers.offer_id,
        persons.person_key,
        persons.household_key,
        offers.offered_on,
        offers.outcome,
        offers.has_valid_excuse,
        coalesce(offers.outcome_on, offers.offered_on) as outcome_on,
        referrals.first_referred_on is not null and referrals.first_referred_on <= offers.offered_on as is_referred,
        offers.outcome in ('ret', 'gelmedi') and not offers.has_valid_excuse as is_unexcused_refusal
    from offers
    left join persons on persons.tckn_pseudonym = offers.tc_kimlik_no_pseudonym
    left join referrals using (person_key)
),

counted as (
    select
        attached.*,
        sum(case when outcome = 'kabul' and {{ var('sanction_acceptance_resets') }} then 1 else 0 end)
            over (partition by person_key order by offered_on, offer_id) as acceptances_so_far
    from attached
)

select
    counted.*,
    case when is_referred and is_unexcused_refusal then
        count(*) filter (where is_referred and is_unexcused_refusal)
            over (partition by person_key, acceptances_so_far order by offered_on, offer_id)
    end as unexcused_refusal_number
from counted

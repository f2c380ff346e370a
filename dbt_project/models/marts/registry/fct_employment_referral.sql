-- One row per referral of a beneficiary to employment (İŞKUR or the employment centre).
with referrals as (
    select * from {{ ref('stg_belediye__employment_referrals') }}
),

persons as (
    select person_key, household_key from {{ ref('stg_belediye__persons') }}
)

select
    {{ record_pseudonym('belediye', 'referrals.referral_id') }}::text as referral_key,
    referrals.person_key::text as person_key,
    persons.household_key::text as household_key,
    referrals.referred_on::date as referred_on,
    {{ half_year('referrals.referred_on') }}::text as half_year,
    referrals.channel::text as channel,
    referrals.program::text as program
from referrals
left join persons using (person_key)

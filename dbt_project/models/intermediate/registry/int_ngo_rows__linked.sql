-- Every current NGO row attached to a municipal person, and so to a family (plan: "aid from NGOs is attached to a
-- household through its members' IDs, and where an NGO row has no valid ID, through name + birth date/year +
-- mahalle"). Built in the staging schema: it compares names and phones, which stay out of intermediate and marts.
--
-- 1. A valid TCKN/YKN that a registry member carries → link_method `tckn`, score 1.
--    A valid ID the registry does not know stays unlinked (`id_not_in_registry`): a name match would only guess.
-- 2. No usable ID (missing, mistyped) → candidates born the same year who share the mahalle, the phone or the
--    surname's soundex; each is scored as a sum of agreement weights (Fellegi–Sunter style, hand-set log-odds):
--      surname   exact +4 · similar (trigram ≥ 0.5 or one edit) +2 · different −3
--      name      exact or first given name +3 · similar +1.5 · different −3
--      birth     full date equal +3 · differs −2 · year only (already equal by the block) +0.5
--      mahalle   same +2 · different −1 · phone same +3 · different −0.5 · not given 0
--    The best candidate links (`name_match`) when its score ≥ var('linkage_threshold') and beats the runner-up by
--    var('linkage_margin'); otherwise the row stays unlinked (`below_threshold`, `ambiguous`, `no_candidate`).
--
-- Incremental (macros/incremental_current.sql): a build links the rows of files delivered since the previous one,
-- and gives every row still unlinked another chance when the registry changed. A link once made is kept; a full
-- refresh (`dbt build --full-refresh`) links every row against today's registry.
{{ config(
    materialized='incremental',
    unique_key='ngo_row_id',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['ngo_row_id'], 'unique': True}],
    post_hook=[
        "{{ drop_rows_no_longer_current('fact.ngo_row_id', 'stk', 'stk__aid_rows', ngo_row_key_columns()) }}",
    ],
) }}

with ngo_rows as (
    {% if is_incremental() %}
    -- also, when the registry changed, the rows still unlinked: their person may be registered now
    {% set unlinked_when_registry_changed %}
        select ngo_row_id from {{ this }}
        where link_method = 'unlinked' and {{ registry_changed_since_last_build() }}
    {% endset %}
    {{ rows_changed_since_last_build(ref('stg_stk__aid_rows'), 'file_id', 'ngo_row_id', source('stk', 'stk__aid_rows'),
                                     ngo_row_key(), also_redo_keys=unlinked_when_registry_changed) }}
    {% else %}
    select * from {{ ref('stg_stk__aid_rows') }}
    {% endif %}
),

households as (
    select household_id, {{ mahalle_core('mahalle_name') }} as mahalle_core,
           nullif(regexp_replace(phone, '[^0-9]', '', 'g'), '') as phone_digits
    from {{ ref('stg_belediye__households') }}
),

persons as (
    select
        persons.person_key,
        persons.household_key,
        persons.tckn_pseudonym,
        persons.first_name_folded,
        persons.last_name_folded,
        persons.birth_date,
        extract(year from persons.birth_date)::integer as birth_year,
        households.mahalle_core,
        households.phone_digits,
        soundex(persons.last_name_folded) as surname_sound,
        soundex(split_part(persons.first_name_folded, ' ', 1)) as given_name_sound
    from {{ ref('stg_belediye__persons') }} as persons
    join households using (household_id)
),

by_id as (
    select ngo_rows.ngo_row_id, persons.person_key, persons.household_key
    from ngo_rows
    join persons on persons.tckn_pseudonym = ngo_rows.tckn_pseudonym
    where ngo_rows.tckn_status = 'valid'
),

to_match as (
    select ngo_rows.*, soundex(last_name_folded) as surname_sound,
           soundex(split_part(first_name_folded, ' ', 1)) as given_name_sound
    from ngo_rows where tckn_status <> 'valid'
),

-- Blocking: pairs born the same year that share the phone, the sounds of the surname and the first given name
-- (soundex keeps most typos together; the surname's sound alone put every Yılmaz born in a year in one block), or
-- the mahalle and the sound of the first given name (a surname typo that changes its sound). Three equality joins
-- the planner can hash, instead of a similarity test on every pair.
pairs as (
    select to_match.ngo_row_id, persons.person_key
    from to_match join persons
      on persons.birth_year = to_match.birth_year and persons.mahalle_core = to_match.mahalle_core
     and persons.given_name_sound = to_match.given_name_sound
    union
    select to_match.ngo_row_id, persons.person_key
    from to_match join persons
      on persons.birth_year = to_match.birth_year and persons.phone_digits = to_match.phone_digits
    union
    select to_match.ngo_row_id, persons.person_key
    from to_match join persons
      on persons.birth_year = to_match.birth_year and persons.surname_sound = to_match.surname_sound
     and persons.given_name_sound = to_match.given_name_sound
),

candidates as (
    select
        to_match.ngo_row_id,
        persons.person_key,
        persons.household_key,
        case
            when persons.last_name_folded = to_match.last_name_folded then 4.0
            when similarity(persons.last_name_folded, to_match.last_name_folded) >= 0.5
              or levenshtein(persons.last_name_folded, to_match.last_name_folded) <= 1 then 2.0
            else -3.0
        end
        + case
            when persons.first_name_folded = to_match.first_name_folded
              or persons.first_name_folded = split_part(to_match.first_name_folded, ' ', 1) then 3.0
            when similarity(persons.first_name_folded, to_match.first_name_folded) >= 0.5
              or levenshtein(persons.first_name_folded, to_match.first_name_folded) <= 1 then 1.5
            else -3.0
        end
        + case
            when to_match.birth_date is null then 0.5
            when persons.birth_date = to_match.birth_date then 3.0
            else -2.0
        end
        + case
            when to_match.mahalle_core is null then 0.0
            when persons.mahalle_core = to_match.mahalle_core then 2.0
            else -1.0
        end
        + case
            when to_match.phone_digits is null then 0.0
            when persons.phone_digits = to_match.phone_digits then 3.0
            else -0.5
        end as score
    from pairs
    join to_match using (ngo_row_id)
    join persons using (person_key)
),

ranked as (
    select
        ngo_row_id,
        person_key,
        household_key,
        score,
        row_number() over (partition by ngo_row_id order by score desc, person_key) as rank,
        lead(score) over (partition by ngo_row_id order by score desc, person_key) as runner_up_score
    from candidates
),

best as (
    select * from ranked where rank = 1
),

linked as (
    select
        ngo_rows.ngo_row_id,
        ngo_rows.ngo_code,
        ngo_rows.delivery_month,
        ngo_rows.row_in_file,
        ngo_rows.aid_type,
        ngo_rows.quantity,
        ngo_rows.amount_try,
        ngo_rows.delivered_on,
        ngo_rows.tckn_status,
        case
            when by_id.person_key is not null then 'tckn'
            when ngo_rows.tckn_status = 'valid' then 'unlinked'
            when best.score >= {{ var('linkage_threshold') }}
             and best.score - coalesce(best.runner_up_score, -100) >= {{ var('linkage_margin') }} then 'name_match'
            else 'unlinked'
        end as link_method,
        case
            when by_id.person_key is not null then 1.0
            else best.score
        end as link_score,
        by_id.person_key as id_person_key,
        by_id.household_key as id_household_key,
        best.person_key as best_person_key,
        best.household_key as best_household_key,
        best.runner_up_score
    from ngo_rows
    left join by_id using (ngo_row_id)
    left join best using (ngo_row_id)
),

final as (
    select
        ngo_row_id,
        ngo_code,
        delivery_month,
        row_in_file,
        aid_type,
        quantity,
        amount_try,
        delivered_on,
        link_method,
        link_score::numeric(6,2) as link_score,
        case link_method when 'tckn' then id_person_key when 'name_match' then best_person_key end as person_key,
        case link_method when 'tckn' then id_household_key when 'name_match' then best_household_key end
            as household_key,
        case
            when link_method <> 'unlinked' then null
            when tckn_status = 'valid' then 'id_not_in_registry'
            when best_person_key is null then 'no_candidate'
            when link_score < {{ var('linkage_threshold') }} then 'below_threshold'
            else 'ambiguous'
        end as unlinked_reason
    from linked
)

{{ with_build_watermark('final', 'ngo_row_id') }}

-- Every current NGO row attached to a municipal person, and so to a family (plan: "aid from NGOs is attached to a
-- household through its members' IDs, and where an NGO row has no valid ID, through name + birth date/year +
-- mahalle"). Built in the staging schema: it compares names and phones, which stay out of intermediate and marts.
--
-- 1. A valid TCKN/YKN that a registry member carries → link_method `tckn`, score 1.
--    A valid ID the registry does not know stays unlinked (`id_not_in_registry`): a name match would only guess.
-- 2. No usable ID (missing, mistyped) → candidates born the same year who share the phone, the mahalle or the
--    sounds of the names (the blocking below); each is scored as a sum of agreement weights (Fellegi–Sunter style,
--    hand-set log-odds; macro ngo_link_score):
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
        substr(persons.last_name_folded, 2) as surname_after_initial,
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
    select ngo_rows.*, soundex(last_name_folded) as surname_sound, substr(last_name_folded, 2) as surname_after_initial,
           soundex(split_part(first_name_folded, ' ', 1)) as given_name_sound
    from ngo_rows where tckn_status <> 'valid'
),

persons_by_surname_spelling as (
    select persons.*, spelling.surname
    from persons
    cross join lateral (values (persons.last_name_folded), (persons.surname_after_initial)) as spelling (surname)
),

-- Blocking, in two rounds of equality joins the planner can hash (not a similarity test on every same-year pair).
-- Round one looks near the row: born the same year and sharing the phone, or the mahalle with the sound of the first
-- given name and the surname's first letter or all of the surname but that letter (a surname typo that changes its
-- sound). Round two looks district-wide, by the sounds of the surname and the first given name (a family that
-- moved, a mahalle written so that it matches none) — a block of name twins born in one year, whose pairs grow with
-- the square of the district. It runs only for the rows round one did not settle: settled is a row whose best near
-- candidate links and which no person elsewhere could come within the margin of (ngo_link_score_elsewhere_at_most),
-- so that round two could change neither the person nor the score.
{% set ngo_row_columns -%}
    to_match.last_name_folded, to_match.first_name_folded, to_match.birth_date, to_match.mahalle_core,
    to_match.phone_digits
{%- endset %}
near_pairs as (
    select to_match.ngo_row_id, persons.person_key, {{ ngo_row_columns }}
    from to_match join persons
      on persons.birth_year = to_match.birth_year and persons.mahalle_core = to_match.mahalle_core
     and persons.given_name_sound = to_match.given_name_sound
     and left(persons.surname_sound, 1) = left(to_match.surname_sound, 1)
    union
    -- the same, for a surname whose first letter was mistyped, dropped or added: one edit away, so still "similar"
    select to_match.ngo_row_id, persons.person_key, {{ ngo_row_columns }}
    from to_match
    cross join lateral (values (to_match.last_name_folded), (to_match.surname_after_initial)) as written (surname)
    join persons_by_surname_spelling as persons
      on persons.birth_year = to_match.birth_year and persons.mahalle_core = to_match.mahalle_core
     and persons.given_name_sound = to_match.given_name_sound and persons.surname = written.surname
    union
    select to_match.ngo_row_id, persons.person_key, {{ ngo_row_columns }}
    from to_match join persons
      on persons.birth_year = to_match.birth_year and persons.phone_digits = to_match.phone_digits
),

-- The pairs carry the NGO row's columns rather than join to_match again by ngo_row_id: the planner knows nothing of
-- a CTE's key and guesses 200 distinct values, which at 500,000 households estimated this join at 371 G rows and
-- made the anti-join below hash that many (it did not finish in 28 minutes; decisions.md, 2026-12-03).
near_candidates as (
    select near_pairs.ngo_row_id, persons.person_key, persons.household_key,
           {{ ngo_link_score('near_pairs', 'persons') }} as score,
           {{ ngo_link_score_elsewhere_at_most('near_pairs') }} as score_elsewhere_at_most
    from near_pairs
    join persons using (person_key)
),

near_ranked as (
    {{ ranked_link_candidates('near_candidates', carried=['score_elsewhere_at_most']) }}
),

settled as (
    select near_ranked.*
    from near_ranked
    where near_ranked.rank = 1
      and near_ranked.score >= {{ var('linkage_threshold') }}
      and near_ranked.score - coalesce(near_ranked.runner_up_score, -100) >= {{ var('linkage_margin') }}
      and near_ranked.score - near_ranked.score_elsewhere_at_most >= {{ var('linkage_margin') }}
),

unsettled as (
    select * from to_match
    where not exists (select from settled where settled.ngo_row_id = to_match.ngo_row_id)
),

-- round two's pairs that round one did not already score (those share the mahalle or the phone)
far_candidates as (
    select unsettled.ngo_row_id, persons.person_key, persons.household_key,
           {{ ngo_link_score('unsettled', 'persons') }} as score
    from unsettled join persons
      on persons.birth_year = unsettled.birth_year and persons.surname_sound = unsettled.surname_sound
     and persons.given_name_sound = unsettled.given_name_sound
    where not coalesce(persons.mahalle_core = unsettled.mahalle_core, false)
      and not coalesce(persons.phone_digits = unsettled.phone_digits, false)
),

unsettled_candidates as (
    select ngo_row_id, person_key, household_key, score
    from near_candidates
    where ngo_row_id in (select ngo_row_id from unsettled)
    union all
    select * from far_candidates
),

unsettled_ranked as (
    {{ ranked_link_candidates('unsettled_candidates') }}
),

best as (
    select ngo_row_id, person_key, household_key, score, runner_up_score from settled
    union all
    select ngo_row_id, person_key, household_key, score, runner_up_score from unsettled_ranked where rank = 1
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
    -- a one-time test before any join: a build with no row to link (no NGO file since the last, the registry
    -- unchanged) would otherwise compute and sort every person's blocking keys for nothing
    where exists (select from ngo_rows)
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

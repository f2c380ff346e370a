-- Families aided per half-year, mahalle and aid type, from every institution: the public transparency report's
-- table and BI's map. A family counts in the mahalle it lived in that half-year (int_household_state_half_year),
-- or, before the registry knew it, where it lives now. Aid not attached to a family is not in it.
--
-- Incremental by half-year, as fct_household_half_year; besides, a family whose registry row changed has its aid
-- redone where it counted by where it lives now.
--
-- Aggregated by sorting, not hashing (`enable_hashagg` off, for this model's transaction only): the 13.7 M family
-- groups of a full build at ten districts are sorted and summed in parallel workers, then merge-joined to the state
-- model in its index order, 35 s; hashed, in a table that spilled, 47 s (docs/decisions.md, 2026-12-06).
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['half_year', 'mahalle_code', 'aid_type'], 'unique': True}],
    pre_hook=[
        "set local enable_hashagg = off",
        "{{ delete_half_years_to_rebuild(also_changed_on=aid_placed_by_address_now()) }}",
    ],
) }}
{%- set rebuilt_from_day = families_rebuilt_from_day(also_changed_on=aid_placed_by_address_now()) %}

-- Each family's aid of a type in a half-year is summed before it is placed: a family lives in one mahalle in a
-- half-year, so each summed row counts once in its group and count(*) counts the families — the placing joins and
-- the grouping then handle a row per family instead of one per delivery (at ten districts 18 M deliveries).
with aid as (
    select household_key, half_year, aid_type, count(*) as deliveries, sum(amount_try) as amount_try
    from {{ ref('fct_aid') }}
    where household_key is not null and delivered_on >= {{ rebuilt_from_day }}
    group by household_key, half_year, aid_type
),

families_then as (
    select household_key, half_year, mahalle_code from {{ ref('int_household_state_half_year') }}
    where half_year >= (select coalesce(min(half_year), '9999') from ({{ half_years_from(rebuilt_from_day) }}) rebuilt)
),

families_now as (
    select household_key, mahalle_code from {{ ref('stg_belediye__households') }}
)

select
    aid.half_year::text as half_year,
    coalesce(families_then.mahalle_code, families_now.mahalle_code)::text as mahalle_code,
    aid.aid_type::text as aid_type,
    count(*)::integer as aided_families,
    sum(aid.deliveries)::integer as deliveries,
    coalesce(sum(aid.amount_try), 0)::numeric(16,2) as amount_try,
    {{ built_through_file_id() }} as built_through_file_id
from aid
left join families_then using (household_key, half_year)
left join families_now using (household_key)
group by 1, 2, 3

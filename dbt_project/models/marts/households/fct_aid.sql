-- One row per aid delivery from any institution — the municipality, each partner NGO, the state (SYDV) — in the
-- warehouse's aid-type catalogue, attached to a family where the registry could tell whose it was.
--
-- Incremental (macros/incremental_current.sql). A build re-does the deliveries its inputs changed since the
-- previous one: municipal records int_aid_isas_status re-did (new files, new ISAS receipts), NGO rows the linkage
-- re-did, state payments of new files, and state payments still unlinked when the registry changed.
-- aid_key is the record's pseudonym (macros/record_pseudonym.sql): the source's own ID stays in staging.
-- delivered_on is indexed: the per-family half-year marts read the half-years they redo by it.
{{ config(
    materialized='incremental',
    unique_key='aid_key',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['aid_key'], 'unique': True},
             {'columns': ['delivered_on']}],
    post_hook=[
        "{{ drop_rows_no_longer_current('fact.aid_key', 'belediye', 'belediye__aid', ['aid_id'], 'belediye') }}",
        "{{ drop_rows_no_longer_current('fact.aid_key', 'stk', 'stk__aid_rows', ngo_row_key_columns(), 'stk') }}",
        "{{ drop_rows_no_longer_current('fact.aid_key', 'devlet', 'devlet__sydv_yardim', ['kayit_no'], 'sydv') }}",
    ],
) }}

with municipal as (
    select * from {{ ref('int_aid_isas_status') }}
    {% if is_incremental() %}
    where built_through_file_id > {{ last_built_file_id() }}
    {% endif %}
),

ngo as (
    select * from {{ ref('int_ngo_rows__linked') }}
    {% if is_incremental() %}
    where built_through_file_id > {{ last_built_file_id() }}
    {% endif %}
),

state_aid as (
    {% if is_incremental() %}
    -- also, when the registry changed, the payments still unlinked: their person may be registered now
    {% set unlinked_when_registry_changed %}
        select payments.sydv_record_id from {{ ref('stg_devlet__sydv_yardim') }} as payments
        where {{ registry_changed_since_last_build() }}
          and {{ record_pseudonym('sydv', 'payments.sydv_record_id') }} in (
              select aid_key from {{ this }} where institution = 'devlet:sydv' and link_method = 'unlinked')
    {% endset %}
    {{ rows_changed_since_last_build(ref('stg_devlet__sydv_yardim'), 'file_id', 'sydv_record_id',
                                     source('devlet', 'devlet__sydv_yardim'), 'kayit_no',
                                     also_redo_keys=unlinked_when_registry_changed) }}
    {% else %}
    select * from {{ ref('stg_devlet__sydv_yardim') }}
    {% endif %}
),

state_programs as (
    select * from {{ ref('sydv_program_map') }}
),

persons as (
    select person_key, household_key, tckn_pseudonym from {{ ref('stg_belediye__persons') }}
    where tckn_status = 'valid'
),

catalogue as (
    select * from {{ ref('aid_type_catalogue') }}
),

deliveries as (
    select
        {{ record_pseudonym('belediye', 'municipal.aid_id') }} as aid_key,
        'belediye'::text as institution,
        municipal.household_key,
        municipal.person_key,
        municipal.aid_type,
        municipal.channel,
        municipal.amount_try,
        municipal.quantity,
        municipal.delivered_on,
        'municipal_id'::text as link_method,
        null::numeric as link_score,
        municipal.isas_status,
        case when municipal.isas_status = 'entered' then municipal.latest_receipt_at::date end as isas_accepted_on,
        municipal.rejection_reason as isas_rejection_reason
    from municipal

    union all

    select
        {{ record_pseudonym('stk', 'ngo.ngo_row_id') }},
        'stk:' || ngo.ngo_code,
        ngo.household_key,
        ngo.person_key,
        ngo.aid_type,
        null,
        ngo.amount_try,
        ngo.quantity,
        ngo.delivered_on,
        ngo.link_method,
        ngo.link_score,
        null,
        null,
        null
    from ngo

    union all

    select
        {{ record_pseudonym('sydv', 'state_aid.sydv_record_id') }},
        'devlet:sydv',
        persons.household_key,
        persons.person_key,
        coalesce(state_programs.aid_type, 'diger'),
        'banka',
        state_aid.amount_try,
        null,
        state_aid.paid_on,
        case when persons.person_key is null then 'unlinked' else 'tckn' end,
        case when persons.person_key is null then null else 1.0 end,
        null,
        null,
        null
    from state_aid
    left join state_programs using (program_code)
    left join persons on persons.tckn_pseudonym = state_aid.tc_kimlik_no_pseudonym
),

final as (
    select
        deliveries.aid_key::text as aid_key,
        deliveries.institution::text as institution,
        deliveries.household_key::text as household_key,
        deliveries.person_key::text as person_key,
        deliveries.aid_type::text as aid_type,
        catalogue.need_category::text as need_category,
        deliveries.channel::text as channel,
        deliveries.amount_try::numeric(14,2) as amount_try,
        deliveries.quantity::integer as quantity,
        deliveries.delivered_on::date as delivered_on,
        {{ half_year('deliveries.delivered_on') }}::text as half_year,
        deliveries.link_method::text as link_method,
        deliveries.link_score::numeric(6,2) as link_score,
        deliveries.isas_status::text as isas_status,
        deliveries.isas_accepted_on::date as isas_accepted_on,
        (deliveries.isas_accepted_on - deliveries.delivered_on)::integer as days_to_isas_entry,
        deliveries.isas_rejection_reason::text as isas_rejection_reason
    from deliveries
    left join catalogue using (aid_type)
)

{{ with_build_watermark('final', 'aid_key') }}

-- One row per single-card (Sosyal Kart) transaction: the municipality's top-ups, what families spend them on, and
-- refunds. Incremental (macros/incremental_current.sql): a daily build reads only the day's new files.
{{ config(
    materialized='incremental',
    unique_key='transaction_key',
    indexes=[{'columns': ['built_through_file_id']}, {'columns': ['transaction_key'], 'unique': True}],
    post_hook=[
        "{{ drop_rows_no_longer_current('fact.transaction_key', 'sosyalkart', 'sosyalkart__transactions', ['islem_no'],
                                        'sosyalkart') }}",
    ],
) }}

with transactions as (
    {% if is_incremental() %}
    {{ rows_changed_since_last_build(ref('stg_sosyalkart__transactions'), 'file_id', 'transaction_id',
                                     source('sosyalkart', 'sosyalkart__transactions'), 'islem_no') }}
    {% else %}
    select * from {{ ref('stg_sosyalkart__transactions') }}
    {% endif %}
)

select
    {{ record_pseudonym('sosyalkart', 'transactions.transaction_id') }}::text as transaction_key,
    transactions.household_key::text as household_key,
    transactions.transacted_at::timestamp as transacted_at,
    transactions.transacted_at::date as transacted_on,
    {{ half_year('transactions.transacted_at') }}::text as half_year,
    transactions.transaction_type::text as transaction_type,
    transactions.merchant_category::text as merchant_category,
    transactions.amount_try::numeric(14,2) as amount_try,
    (case transactions.transaction_type when 'harcama' then -1 else 1 end
        * transactions.amount_try)::numeric(14,2) as balance_change_try,
    {{ built_through_file_id() }} as built_through_file_id
from transactions

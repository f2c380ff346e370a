-- Where the published data comes from, for a BI dashboard to say it plainly: deliveries written by `kopru generate`
-- (sample data, kopru.ingest.origin) or real ones. The publication gate never publishes both together. Whether,
-- not how many: file counts depend on how deliveries were cut into days, the data does not.
with loaded as (
    select is_generated from {{ source('ingest', 'files') }} where status = 'loaded'
)

select
    coalesce(bool_or(is_generated), false)::boolean as holds_generated_data,
    (case when bool_or(is_generated) then 'ÖRNEK VERİ — gerçek kişi bilgisi içermez' end)::text as note_tr
from loaded

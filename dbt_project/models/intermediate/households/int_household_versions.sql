-- Type-2 history of every family, from the delivered snapshots themselves: each version the loader kept is valid
-- from the day its snapshot describes (a snapshot delivered on day D is the registry at the end of D − 1) until the
-- next version. A past half-year is reported with the state the family had then.
with versions as (
    select
        raw_rows.household_key,
        raw_rows.mahalle_code,
        raw_rows.household_size,
        raw_rows.registered_on,
        raw_rows.status as household_status,
        coalesce(raw_rows.protection_status, 'none') as protection_status,
        files.delivered_on - 1 as valid_from,
        files.file_id,
        raw_rows._row_number
    from {{ source('belediye', 'belediye__households') }} as raw_rows
    join {{ source('ingest', 'files') }} as files
      on files.file_id = raw_rows._file_id and files.status = 'loaded'
)

select
    household_key, mahalle_code, household_size, registered_on, household_status, protection_status, valid_from,
    lead(valid_from) over (partition by household_key order by valid_from, file_id, _row_number) as valid_to
from versions

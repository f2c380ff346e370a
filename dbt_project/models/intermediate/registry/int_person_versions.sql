-- Type-2 history of every registered person from the delivered snapshots (see int_household_versions). Kept in the
-- staging schema: it carries birth dates.
with versions as (
    select
        raw_rows.person_key,
        raw_rows.household_key,
        raw_rows.birth_date,
        raw_rows.is_student,
        raw_rows.relation,
        files.delivered_on - 1 as valid_from,
        files.file_id,
        raw_rows._row_number
    from {{ source('belediye', 'belediye__persons') }} as raw_rows
    join {{ source('ingest', 'files') }} as files
      on files.file_id = raw_rows._file_id and files.status = 'loaded'
)

select
    person_key, household_key, birth_date, is_student, relation, valid_from,
    lead(valid_from) over (partition by person_key order by valid_from, file_id, _row_number) as valid_to
from versions

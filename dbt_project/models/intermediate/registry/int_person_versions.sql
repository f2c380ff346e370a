-- Type-2 history of every registered person from the delivered snapshots (macro snapshot_versions). Kept in the
-- staging schema: it carries birth dates.
{{ snapshot_versions(source('belediye', 'belediye__persons'), 'person_key', [
    'person_key', 'household_key', 'birth_date', 'is_student', 'relation',
]) }}

-- Type-2 history of every family, from the delivered snapshots (macro snapshot_versions): a past half-year is
-- reported with the state the family had then.
{{ snapshot_versions(source('belediye', 'belediye__households'), 'household_key', [
    'household_key', 'mahalle_code', 'household_size', 'registered_on', 'status as household_status',
    "coalesce(protection_status, 'none') as protection_status",
]) }}

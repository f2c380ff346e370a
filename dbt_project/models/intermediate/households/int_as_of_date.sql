-- "Today" for the warehouse's current-state models: the latest municipal delivery, not the wall clock, so that a
-- rebuild over the same deliveries gives the same flags (var `as_of` overrides it).
select coalesce(
    {% if var('as_of', none) %}'{{ var("as_of") }}'::date{% else %}null::date{% endif %},
    (select max(delivered_on) from {{ source('ingest', 'files') }} where source = 'belediye' and status = 'loaded'),
    current_date
) as as_of_date

-- Retention runs, newest first: optionally of one policy ($1), and touching
-- one tenant ($2: purged, counted, skipped or failed in the run's result, so
-- only finished runs match), after a cursor ($3), at most $4.
SELECT id, kind, tenant_id, status, progress, result, error, receipt_id, created_at, updated_at
  FROM requests
 WHERE kind = 'retention'
   AND ($1::text IS NULL OR params ->> 'policy' = $1)
   AND ($2::text IS NULL OR result -> 'tenants' @> jsonb_build_array(jsonb_build_object('tenantId', $2::text)))
   AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM requests WHERE id = $3))
 ORDER BY created_at DESC, id DESC
 LIMIT $4

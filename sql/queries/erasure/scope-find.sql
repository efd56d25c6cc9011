-- The scope a purge counted, if it did: $1 request id, $2 tenant id.
SELECT s.target, s.subject_keys, s.counted_at,
       coalesce(jsonb_agg(jsonb_build_object(
         'step', c.step, 'schema', c.table_schema, 'name', c.table_name, 'action', c.action,
         -- bigint counts as text: a JS number would round beyond 2^53
         'pendingRows', c.pending_rows::text, 'retainedRows', c.retained_rows::text, 'keptRows', c.kept_rows::text)
         ORDER BY c.step) FILTER (WHERE c.step IS NOT NULL), '[]') AS counts
FROM purge_scopes AS s
LEFT JOIN purge_counts AS c ON c.request_id = s.request_id AND c.tenant_id = s.tenant_id
WHERE s.request_id = $1 AND s.tenant_id = $2
GROUP BY s.request_id, s.tenant_id;

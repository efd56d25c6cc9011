-- One row per step, from parallel arrays: $1 request id, $2 tenant id, then
-- $3 steps, $4 schemas, $5 tables, $6 actions, $7 pending, $8 retained, $9 kept rows.
INSERT INTO purge_counts (request_id, tenant_id, step, table_schema, table_name, action, pending_rows, retained_rows, kept_rows)
SELECT $1, $2, c.step, c.table_schema, c.table_name, c.action, c.pending_rows, c.retained_rows, c.kept_rows
FROM unnest($3::integer[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
  AS c (step, table_schema, table_name, action, pending_rows, retained_rows, kept_rows);

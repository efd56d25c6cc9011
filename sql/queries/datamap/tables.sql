-- Tables of the given schemas (ordinary and partitioned; partitions roll up
-- into their parent), with the row-level security, replica identity and size
-- facts the data map reports.
--
-- pg_catalog only, never information_schema: information_schema hides tables
-- the current role holds no privilege on, and the service role owns nothing.
--
-- $1 text[]  schemas to read
-- $2 text    the tenant setting RLS policies read, e.g. app.current_tenant_id
SELECT n.nspname             AS schema,
       c.relname             AS name,
       c.relrowsecurity      AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       c.relreplident        AS replica_identity,
       c.reltuples           AS estimated_rows,
       EXISTS (
         SELECT 1
         FROM pg_catalog.pg_policy p
         WHERE p.polrelid = c.oid
           AND (strpos(coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), ''), $2) > 0
             OR strpos(coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), ''), $2) > 0)
       )                     AS has_tenant_policy
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND n.nspname = ANY ($1::text[])
ORDER BY n.nspname, c.relname;

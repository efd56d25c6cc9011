-- Usable indexes (valid, not partial) of the tables in the given schemas, with
-- their key columns in order; an expression column reads as NULL. The replica
-- identity index, if any, is flagged.
--
-- $1 text[]  schemas to read
SELECT n.nspname        AS schema,
       c.relname        AS table,
       ic.relname       AS index,
       i.indisunique    AS is_unique,
       i.indisreplident AS is_replica_identity,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
         LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE k.position <= i.indnkeyatts
         ORDER BY k.position
       )                AS columns
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE i.indisvalid
  AND i.indpred IS NULL
  AND NOT c.relispartition
  AND n.nspname = ANY ($1::text[])
ORDER BY n.nspname, c.relname, ic.relname;

-- Primary keys and foreign keys of the tables in the given schemas, with their
-- columns in constraint order (composite keys pair up position by position).
-- Constraints a partition inherits from its parent (conparentid <> 0) are the
-- parent's, already listed.
--
-- $1 text[]  schemas to read
SELECT n.nspname   AS schema,
       c.relname   AS table,
       con.conname AS constraint,
       con.contype AS type,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
         ORDER BY k.position
       )           AS columns,
       rn.nspname  AS ref_schema,
       rc.relname  AS ref_table,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
         ORDER BY k.position
       )           AS ref_columns
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'f')
  AND con.conparentid = 0
  AND NOT c.relispartition
  AND n.nspname = ANY ($1::text[])
ORDER BY n.nspname, c.relname, con.conname;

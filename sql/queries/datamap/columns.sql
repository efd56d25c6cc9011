-- Live columns of the tables in the given schemas, in table order.
-- toastable: any storage but PLAIN lets a large value move out of line, and
-- an unchanged out-of-line value is missing from UPDATEs in logical decoding.
-- char(n) and varchar(n) up to 255 characters are left out: far below the
-- ~2 kB at which Postgres starts moving values out of line (typmod is n + 4).
--
-- $1 text[]  schemas to read
SELECT n.nspname                                    AS schema,
       c.relname                                    AS table,
       a.attname                                    AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull                             AS nullable,
       a.attstorage <> 'p'
         AND NOT (a.atttypid IN ('pg_catalog.bpchar'::regtype, 'pg_catalog.varchar'::regtype)
                  AND a.atttypmod BETWEEN 5 AND 259)  AS toastable
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND n.nspname = ANY ($1::text[])
ORDER BY n.nspname, c.relname, a.attnum;

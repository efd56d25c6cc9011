-- DDL markers for the WAL archive, installed in the APPLICATION database
-- (not the catalog) by `compliance-ops archiver setup`, or by the archiver
-- itself when its role may. Idempotent; run in one transaction.
--
-- PostgreSQL 15 does not decode DDL. These event triggers write a
-- transactional logical message (prefix 'compliance-ops.ddl', JSON content)
-- inside the DDL's own transaction, so the archive sees exactly where in the
-- WAL a published table changed shape, and refuses restores across it.
--
-- Creating an event trigger needs a superuser (on Amazon RDS / Aurora:
-- rds_superuser; on Cloud SQL: cloudsqlsuperuser). The function runs as
-- whoever runs the DDL: pg_logical_emit_message is executable by PUBLIC.

CREATE SCHEMA IF NOT EXISTS compliance_ops;

CREATE OR REPLACE FUNCTION compliance_ops.emit_ddl_marker() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
  change record;
BEGIN
  IF TG_EVENT = 'ddl_command_end' THEN
    -- ALTER TABLE (columns, types, renames, replica identity…) of a table some publication publishes.
    FOR change IN
      SELECT c.command_tag, c.object_type, c.object_identity, n.nspname AS schema_name, r.relname AS table_name
      FROM pg_event_trigger_ddl_commands() c
      JOIN pg_class r ON c.classid = 'pg_class'::regclass AND r.oid = c.objid
      JOIN pg_namespace n ON n.oid = r.relnamespace
      WHERE c.object_type IN ('table', 'table column')
        AND EXISTS (SELECT 1 FROM pg_publication_tables p WHERE p.schemaname = n.nspname AND p.tablename = r.relname)
    LOOP
      PERFORM pg_logical_emit_message(true, 'compliance-ops.ddl', json_build_object(
        'command', change.command_tag, 'objectType', change.object_type, 'identity', change.object_identity,
        'schema', change.schema_name, 'table', change.table_name, 'statement', left(current_query(), 2000))::text);
    END LOOP;
  ELSIF TG_EVENT = 'sql_drop' THEN
    -- A dropped table has left its publication by now, so every dropped table is
    -- reported, except those of restore staging schemas (src/restore/staging.ts),
    -- which are dropped after each restore and never archived.
    FOR change IN
      SELECT TG_TAG AS command_tag, d.object_type, d.object_identity, d.schema_name, d.object_name AS table_name
      FROM pg_event_trigger_dropped_objects() d
      WHERE d.object_type = 'table' AND NOT d.is_temporary AND d.schema_name !~ '^restore_[a-z0-9]+$'
    LOOP
      PERFORM pg_logical_emit_message(true, 'compliance-ops.ddl', json_build_object(
        'command', change.command_tag, 'objectType', change.object_type, 'identity', change.object_identity,
        'schema', change.schema_name, 'table', change.table_name, 'statement', left(current_query(), 2000))::text);
    END LOOP;
  END IF;
END
$function$;

DO $install$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'compliance_ops_ddl_marker') THEN
    CREATE EVENT TRIGGER compliance_ops_ddl_marker ON ddl_command_end EXECUTE FUNCTION compliance_ops.emit_ddl_marker();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'compliance_ops_ddl_drop_marker') THEN
    CREATE EVENT TRIGGER compliance_ops_ddl_drop_marker ON sql_drop EXECUTE FUNCTION compliance_ops.emit_ddl_marker();
  END IF;
END
$install$;

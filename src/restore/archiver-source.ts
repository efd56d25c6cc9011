import { ClientBase, escapeIdentifier as q } from 'pg';
import { sqlQuery } from '../db/sql-files';
import { TableEntry } from '../datamap/datamap.types';

/** Names of the event triggers of sql/queries/archiver/install-ddl-markers.sql. */
const DDL_TRIGGERS = ['compliance_ops_ddl_marker', 'compliance_ops_ddl_drop_marker'];

/** One installer at a time: two app instances booting together must not race on CREATE PUBLICATION. */
const INSTALL_LOCK = 'compliance-ops archive source';

export interface ArchiveSourceState {
  publication: boolean;
  ddlMarkers: boolean;
  /** tenant tables the publication does not cover (a new table, or one recreated by a migration): their changes would not be archived */
  unpublished: TableEntry[];
}

/** The deployment step when the service role cannot do it itself: says what to run, as whom, and why. */
export class ArchiveSetupError extends Error {
  constructor(what: string, role: string, cause: string) {
    super(
      `${what} is missing in the application database and role ${role} cannot create it (${cause}). ` +
        'Run `compliance-ops archiver setup --database-url <URL of a superuser, or rds_superuser on RDS>` once: ' +
        'the publication needs the tables\' owner, the DDL event triggers a superuser.',
    );
    this.name = 'ArchiveSetupError';
  }
}

export async function archiveSourceState(client: ClientBase, publication: string, tables: TableEntry[] = []): Promise<ArchiveSourceState> {
  const { rows } = await client.query<{ publication: boolean; triggers: number; published: string[] }>(
    `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1) AS publication,
            (SELECT count(*)::int FROM pg_event_trigger WHERE evtname = ANY ($2) AND evtenabled <> 'D') AS triggers,
            ARRAY(SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1) AS published`,
    [publication, DDL_TRIGGERS],
  );
  const published = new Set(rows[0].published);
  return {
    publication: rows[0].publication,
    ddlMarkers: rows[0].triggers === DDL_TRIGGERS.length,
    unpublished: rows[0].publication ? tables.filter((t) => !published.has(`${t.schema}.${t.name}`)) : tables,
  };
}

/**
 * What the archive needs in the application database besides its slot: a
 * publication over every tenant table (pgoutput decodes only published
 * tables, so a table added later must join it) and the DDL event triggers
 * (PG15 does not decode DDL). Creates what is missing, in one transaction;
 * with a role that may not, fails with ArchiveSetupError naming the command.
 */
export async function ensureArchiveSource(client: ClientBase, publication: string, tables: TableEntry[]): Promise<void> {
  const before = await archiveSourceState(client, publication, tables);
  if (before.publication && before.ddlMarkers && before.unpublished.length === 0) return;
  const { rows } = await client.query<{ role: string }>('SELECT current_user AS role');
  const role = rows[0].role;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [INSTALL_LOCK]);
    const state = await archiveSourceState(client, publication, tables);
    const list = state.unpublished.map((t) => `${q(t.schema)}.${q(t.name)}`).join(', ');
    if (!state.publication) {
      await client.query(`CREATE PUBLICATION ${q(publication)} FOR TABLE ${list} WITH (publish = 'insert, update, delete, truncate')`)
        .catch((error: Error) => { throw new ArchiveSetupError(`publication ${publication}`, role, error.message); });
    } else if (state.unpublished.length > 0) {
      await client.query(`ALTER PUBLICATION ${q(publication)} ADD TABLE ${list}`)
        .catch((error: Error) => { throw new ArchiveSetupError(`tables ${list} in publication ${publication}`, role, error.message); });
    }
    if (!state.ddlMarkers) {
      await client.query(sqlQuery('archiver', 'install-ddl-markers.sql'))
        .catch((error: Error) => { throw new ArchiveSetupError('the DDL event triggers (compliance_ops_ddl_marker)', role, error.message); });
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

import { Pool } from 'pg';

/**
 * The two databases the service talks to, as injectable classes (no string
 * tokens): the application's tenant data, and the service's own catalog.
 */
export class AppDatabase {
  constructor(readonly pool: Pool) {}
}

export class CatalogDatabase {
  constructor(readonly pool: Pool) {}
}

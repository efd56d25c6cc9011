import { ExportFormat } from './export.types';
import { TableCopy } from './plan';

/** `schema.json`: what each exported file holds, so a reader needs no database to interpret it. */
export interface SchemaFile {
  dataFormat: ExportFormat;
  tables: Array<{
    path: string;
    schema: string;
    name: string;
    kind: string;
    columns: Array<{ name: string; type: string; nullable: boolean }>;
  }>;
}

export function buildSchemaFile(copies: TableCopy[], format: ExportFormat): Buffer {
  const file: SchemaFile = {
    dataFormat: format,
    tables: copies.map((copy) => ({
      path: copy.path,
      schema: copy.table.schema,
      name: copy.table.name,
      kind: copy.table.kind,
      columns: copy.columns.map(({ name, type, nullable }) => ({ name, type, nullable })),
    })),
  };
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
}

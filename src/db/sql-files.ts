import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config';

const cache = new Map<string, string>();

/**
 * The text of `sql/queries/<capability>/<file>`, read once: the SQL a
 * capability runs lives in .sql files a reviewer can read, not in strings.
 */
export function sqlQuery(capability: string, file: string): string {
  const path = join(PROJECT_ROOT, 'sql', 'queries', capability, file);
  let text = cache.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    cache.set(path, text);
  }
  return text;
}

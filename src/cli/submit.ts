import type { RequestView } from '../requests/request.types';
import { ApiClient } from './api-client';
import { progressPrinter } from './progress';

/**
 * POSTs a request the way every long-running command does. Without `wait` it
 * prints the queued request and returns nothing; with it, it follows the
 * request with a progress line and returns it once succeeded, or says why not
 * and sets a failing exit code.
 */
export async function submitRequest(
  what: string,
  path: string,
  body: unknown,
  options: { wait?: boolean; headers?: Record<string, string> } = {},
): Promise<{ api: ApiClient; done: RequestView } | undefined> {
  const api = await ApiClient.fromEnvironment();
  const request = await api.call<RequestView>('POST', path, body, options.headers);
  if (!options.wait) {
    process.stdout.write(`${JSON.stringify(request, null, 2)}\n`);
    return undefined;
  }
  const done = await api.waitFor(request.id, progressPrinter());
  process.stderr.write('\n');
  if (done.status !== 'succeeded') {
    process.stderr.write(`${what} ${done.status}${done.error ? `: ${done.error.message}` : ''}\n`);
    process.exitCode = 1;
    return undefined;
  }
  return { api, done };
}

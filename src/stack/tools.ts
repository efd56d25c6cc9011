import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir } from '../config';

/**
 * The Go-built servers of the local stack, pinned. Temporal CLI tags after
 * v1.5.1 carry a `replace` directive that `go install` refuses; MinIO and
 * local-kms publish no semver tags, so they are pinned to module pseudo-versions.
 */
export const GO_TOOLS = {
  temporal: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
  minio: 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c',
  'local-kms': 'github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6',
} as const;

export type GoTool = keyof typeof GO_TOOLS;

export class MissingToolError extends Error {}

function onPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** A binary already on PATH wins; then the cache; otherwise it is built (slow, once per machine). */
export function resolveTool(name: GoTool, log: (line: string) => void = () => undefined): string {
  const fromPath = onPath(name);
  if (fromPath) return fromPath;
  const cached = join(toolsDir(), name);
  if (existsSync(cached)) return cached;
  buildTool(name, log);
  return cached;
}

export function buildTool(name: GoTool, log: (line: string) => void): void {
  const go = onPath('go');
  if (!go) {
    throw new MissingToolError(
      `${name} is not installed and Go is missing to build it. Install Go ≥ 1.24 (Debian: apt-get install golang-go, ` +
        `or the official tarball) and run again, or put a ${name} binary on PATH.`,
    );
  }
  mkdirSync(toolsDir(), { recursive: true });
  const started = Date.now();
  log(`building ${name} (${GO_TOOLS[name]}) into ${toolsDir()} — the first build takes a few minutes`);
  try {
    execFileSync(go, ['install', GO_TOOLS[name]], {
      env: { ...process.env, GOBIN: toolsDir(), CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').slice(-10).join('\n') ?? '';
    throw new MissingToolError(`go install ${GO_TOOLS[name]} failed:\n${stderr}`);
  }
  log(`built ${name} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Builds every missing tool; the builds share Go's module and build caches. */
export function ensureTools(log: (line: string) => void): Record<GoTool, string> {
  return {
    temporal: resolveTool('temporal', log),
    minio: resolveTool('minio', log),
    'local-kms': resolveTool('local-kms', log),
  };
}

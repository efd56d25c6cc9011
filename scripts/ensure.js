#!/usr/bin/env node
// Installs what is missing before `npm start`, `npm test` and `npm run bench`:
// npm packages (when absent or older than the lockfile) and the compiled CLI.
// The servers themselves (PostgreSQL, the Go-built Temporal, MinIO, local-kms)
// are installed by `compliance-ops stack up`, which runs next.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`compliance-ops needs Node.js ≥ 20.19 (found ${process.versions.node}). Install a newer Node.js and run again.`);
  process.exit(1);
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || mtime(join(root, 'package-lock.json')) > mtime(installed)) {
  console.error('installing npm packages (npm ci)…');
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}

console.error('compiling…');
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});

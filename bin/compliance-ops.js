#!/usr/bin/env node
// Node 20 is supported here; the AWS SDK's notice about its future Node 22 floor is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Runs the compiled CLI; `npm start` / `npm test` build it first (scripts/ensure.js).
require('../dist/src/cli/main.js');

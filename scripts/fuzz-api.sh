#!/usr/bin/env bash
# Fuzzes the whole HTTP API from its own OpenAPI document with schemathesis,
# as an operator, and fails on any 5xx or any response that breaks the
# document's schemas.
#
# It needs the local stack up (`compliance-ops stack up`) and a build
# (`npx tsc -p tsconfig.build.json`). It never touches the developer's data:
# the API it starts runs on scratch databases (a small seeded demo and an
# empty catalog) and a task queue no worker polls, so the exports and erasures
# the fuzzer asks for are recorded but never run; their workflows are
# terminated and the databases dropped on the way out.
#
#   FUZZ_MAX_EXAMPLES   test cases per operation and phase (default 20)
#   FUZZ_SEED           schemathesis seed, for a reproducible run (default 1)
#   FUZZ_REPORT_DIR     where the JUnit and NDJSON reports go (default: a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CLI="node $ROOT/bin/compliance-ops.js"

say() { printf 'fuzz-api: %s\n' "$*" >&2; }

[ -f dist/src/cli/main.js ] || { say 'build first: npx tsc -p tsconfig.build.json'; exit 2; }

# schemathesis in its own venv in the tool cache, made once. Python 3.13 first: on the 3.11 builds here,
# hypothesis's lambda descriptions hit a CPython AST bug ("recursion depth mismatch") and whole phases error out.
VENV="${COMPLIANCE_OPS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/compliance-ops/bin}/../schemathesis-venv"
if [ ! -x "$VENV/bin/st" ]; then
  PYTHON=""
  for candidate in python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
  [ -n "$PYTHON" ] || { say 'no python3 found: install Python 3.12 or later'; exit 2; }
  say "installing schemathesis into $VENV ($("$PYTHON" --version))"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet schemathesis
fi
ST="$VENV/bin/st"

PG_PORT="${COMPLIANCE_OPS_PG_PORT:-55432}"
SUFFIX="$(node -e 'process.stdout.write(require("crypto").randomBytes(4).toString("hex"))')"
APP_DB="t_fuzz_app_$SUFFIX"
CATALOG_DB="t_fuzz_cat_$SUFFIX"
ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
REPORT_DIR="${FUZZ_REPORT_DIR:-$(mktemp -d)}"
mkdir -p "$REPORT_DIR"
API_LOG="$REPORT_DIR/api.log"

# Runs SQL as the local stack's superuser (node's pg: no psql needed on PATH).
pg_admin() {
  node -e '
    const { Client } = require("pg");
    const client = new Client({ connectionString: process.argv[1] });
    client.connect().then(() => client.query(process.argv[2])).then((r) => {
      for (const row of r.rows ?? []) console.log(Object.values(row).join("\t"));
    }).finally(() => client.end());
  ' "$1" "$2"
}

API_PID=""
cleanup() {
  local status=$?
  if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
  # The fuzzer's requests started workflows on a queue nobody polls: end them, or they wait forever.
  local ids
  ids="$(pg_admin "postgres://postgres@127.0.0.1:$PG_PORT/$CATALOG_DB" 'SELECT workflow_id FROM requests' 2>/dev/null || true)"
  if [ -n "$ids" ]; then
    printf '%s\n' "$ids" | node -e '
      const { Connection, Client } = require("@temporalio/client");
      const ids = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
      (async () => {
        const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
        const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE });
        await Promise.allSettled(ids.map((id) => client.workflow.getHandle(id).terminate("fuzz run over")));
        await connection.close();
      })();
    ' || true
  fi
  pg_admin "$ADMIN_URL" "DROP DATABASE IF EXISTS $APP_DB WITH (FORCE)" >/dev/null 2>&1 || true
  pg_admin "$ADMIN_URL" "DROP DATABASE IF EXISTS $CATALOG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT

say "scratch databases $APP_DB, $CATALOG_DB"
pg_admin "$ADMIN_URL" "CREATE DATABASE $APP_DB" >/dev/null
pg_admin "$ADMIN_URL" "CREATE DATABASE $CATALOG_DB OWNER compliance_ops" >/dev/null
$CLI seed --database-url "postgres://postgres@127.0.0.1:$PG_PORT/$APP_DB" --tenants 3 --rows-per-tenant 40 >/dev/null

PORT="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
export DATABASE_URL="postgres://compliance_ops@127.0.0.1:$PG_PORT/$APP_DB"
export CATALOG_DATABASE_URL="postgres://compliance_ops@127.0.0.1:$PG_PORT/$CATALOG_DB"
export DATAMAP_CONFIG="$ROOT/src/datamap/demo-datamap.yaml"
export TEMPORAL_TASK_QUEUE="fuzz-$SUFFIX"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:${COMPLIANCE_OPS_TEMPORAL_PORT:-7233}}"
export TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
export PORT HOST=127.0.0.1 LOG_LEVEL="${LOG_LEVEL:-warn}"
# The fuzzer is one client sending as fast as it can: the per-token limit would answer most of it with 429.
export RATE_LIMIT_PER_SECOND=1000000 RATE_LIMIT_BURST=1000000

$CLI api >"$API_LOG" 2>&1 &
API_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$API_PID" 2>/dev/null || { say "the API did not start:"; tail -n 40 "$API_LOG" >&2; exit 1; }
  sleep 0.5
done
say "API on $URL (log: $API_LOG)"

TOKEN="$($CLI token --role operator)"
# Random tenant ids only ever meet "no such tenant"; one real tenant lets the bodies reach the code behind them.
TENANT="$(pg_admin "postgres://postgres@127.0.0.1:$PG_PORT/$APP_DB" 'SELECT id FROM tenants ORDER BY id LIMIT 1')"
CONFIG="$REPORT_DIR/schemathesis.toml"
printf '[parameters]\n"path.tenantId" = "%s"\n' "$TENANT" >"$CONFIG"
set +e
# From the report folder: schemathesis leaves a .schemathesis cache where it runs.
cd "$REPORT_DIR"
"$ST" --config-file "$CONFIG" run "$URL/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${FUZZ_MAX_EXAMPLES:-20}" \
  --seed "${FUZZ_SEED:-1}" \
  --workers 2 \
  --generation-database none \
  --request-timeout 20 \
  --header "Authorization: Bearer $TOKEN" \
  --report junit,ndjson --report-dir "$REPORT_DIR" \
  --no-color
status=$?
set -e
cd "$ROOT"
# The numbers a CI log needs, from the NDJSON events: cases run, and failures by check.
node -e '
  const file = require("fs").readdirSync(process.argv[1]).find((f) => f.endsWith(".ndjson"));
  const events = require("fs").readFileSync(`${process.argv[1]}/${file}`, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  let cases = 0;
  const failed = {};
  for (const { ScenarioFinished: scenario } of events) {
    if (!scenario) continue;
    cases += Object.keys(scenario.recorder.cases ?? {}).length;
    for (const check of Object.values(scenario.recorder.checks ?? {}).flat()) {
      if (check.status !== "success") failed[check.name] = (failed[check.name] ?? 0) + 1;
    }
  }
  const errors = events.filter((e) => e.NonFatalError || e.FatalError).length;
  console.log(`fuzz-api: ${cases} cases run; failed checks: ${JSON.stringify(failed)}; schemathesis errors: ${errors}`);
' "$REPORT_DIR" >&2 || true
say "schemathesis exited $status; reports in $REPORT_DIR"
exit "$status"

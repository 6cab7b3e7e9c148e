#!/usr/bin/env bash
# Bounded load test of the API on loopback: PostgreSQL + Redis, the production ASGI server, wrk.
#
#   make bench                      (or: bash bench/run.sh)
#
# Creates and migrates a dedicated database (siteflow_bench), makes users with a few workspaces each
# and a long-lived JWT per user, and gives each user a builder site (a 40- and a 100-component page
# with a contact form). Times the page renderer in-process, then starts uvicorn with production
# settings, waits for /healthz, runs wrk against each endpoint (warm-up, then the measured run)
# spreading requests over the users' tokens, or posting to their forms, checks every acknowledged
# form submission was stored, stops the server and rewrites the results section of docs/benchmarks.md.
# Every knob below can be overridden from the environment. The Redis database named by
# BENCH_REDIS_URL is flushed at the start: give it one of its own.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"

BENCH_PORT=${BENCH_PORT:-8100}
BENCH_DURATION=${BENCH_DURATION:-30s}
BENCH_WARMUP=${BENCH_WARMUP:-5s}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_WORKERS=${BENCH_WORKERS:-2}
BENCH_PG_HOST=${BENCH_PG_HOST:-127.0.0.1}
BENCH_PG_PORT=${BENCH_PG_PORT:-5432}
BENCH_PG_USER=${BENCH_PG_USER:-postgres}
BENCH_DB=${BENCH_DB:-siteflow_bench}
# Size of each server process's psycopg pool (the settings' DB_POOL_MAX_SIZE).
BENCH_DB_POOL_MAX_SIZE=${BENCH_DB_POOL_MAX_SIZE:-10}
# Users (one JWT each) the requests are spread over; the throttles keep their production rates.
BENCH_USERS=${BENCH_USERS:-64}
BENCH_REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/13}
# The application and any extra uvicorn options, for experiments (e.g. BENCH_APP=config.wsgi:application
# BENCH_UVICORN_ARGS="--interface wsgi").
BENCH_APP=${BENCH_APP:-config.asgi:application}
BENCH_UVICORN_ARGS=${BENCH_UVICORN_ARGS:-}
# tree_c1 is the tree again over a single connection: one editor's wait, without the queue that 32
# connections build in front of two busy cores.
BENCH_ENDPOINTS=${BENCH_ENDPOINTS:-me workspaces tree tree_c1 form}
# The form endpoint's measured run (it stores a row and an event per request, so it is kept shorter).
BENCH_FORM_DURATION=${BENCH_FORM_DURATION:-20s}
# The public form endpoint's limits for the bench server only: every request comes from 127.0.0.1,
# which FORM_RATE_IP (10/min in production) would stop at once. The counters still run.
BENCH_FORM_RATE=${BENCH_FORM_RATE:-1000000/min}
# BENCH_RENDER=0 skips the in-process render benchmark; BENCH_RENDER_RUNS timed renders per call.
BENCH_RENDER=${BENCH_RENDER:-1}
BENCH_RENDER_RUNS=${BENCH_RENDER_RUNS:-200}
BENCH_DOC=${BENCH_DOC:-docs/benchmarks.md}
BENCH_TARGET_RPS=${BENCH_TARGET_RPS:-800}
BENCH_TARGET_P95_MS=${BENCH_TARGET_P95_MS:-25}
BENCH_TREE_TARGET_P95_MS=${BENCH_TREE_TARGET_P95_MS:-30}
BENCH_FORM_TARGET_RPS=${BENCH_FORM_TARGET_RPS:-300}
BENCH_RENDER_TARGET_MEDIAN_MS=${BENCH_RENDER_TARGET_MEDIAN_MS:-15}
# The CRM part (bench/crm.py, in-process with the server stopped): BENCH_CRM=0 skips it, BENCH_CRM_ONLY=1
# runs nothing else. Its 1M-contact workspace is generated once and kept in the benchmark database.
BENCH_CRM=${BENCH_CRM:-1}
BENCH_CRM_ONLY=${BENCH_CRM_ONLY:-0}
BENCH_CRM_CONTACTS=${BENCH_CRM_CONTACTS:-1000000}
BENCH_CRM_LIST_CONTACTS=${BENCH_CRM_LIST_CONTACTS:-100000}
BENCH_CRM_IMPORT_ROWS=${BENCH_CRM_IMPORT_ROWS:-100000}
# Which CRM parts run, e.g. BENCH_CRM_PARTS=import (with BENCH_WRITE_DOC=0: the report holds only those).
BENCH_CRM_PARTS=${BENCH_CRM_PARTS:-segment list import}
# The email audience snapshot (bench/email_snapshot.py, in-process with the server stopped):
# BENCH_EMAIL_SNAPSHOT=0 skips it. Its workspace of that many contacts, and that many earlier campaigns
# to all of them in the ledger, are generated once and kept.
BENCH_EMAIL_SNAPSHOT=${BENCH_EMAIL_SNAPSHOT:-1}
BENCH_EMAIL_SNAPSHOT_CONTACTS=${BENCH_EMAIL_SNAPSHOT_CONTACTS:-100000}
BENCH_EMAIL_SNAPSHOT_EARLIER=${BENCH_EMAIL_SNAPSHOT_EARLIER:-10}
BENCH_EMAIL_SNAPSHOT_RUNS=${BENCH_EMAIL_SNAPSHOT_RUNS:-3}
# Campaign sending (bench/email_send.py: real Celery workers and a local SMTP server, with the API
# server stopped): BENCH_EMAIL=0 skips it, BENCH_EMAIL_ONLY=1 runs only the email parts. Its workspace of
# that many contacts is generated once and kept.
BENCH_EMAIL=${BENCH_EMAIL:-1}
BENCH_EMAIL_ONLY=${BENCH_EMAIL_ONLY:-0}
BENCH_EMAIL_CONTACTS=${BENCH_EMAIL_CONTACTS:-20000}
BENCH_EMAIL_WORKERS=${BENCH_EMAIL_WORKERS:-2}
BENCH_EMAIL_RUNS=${BENCH_EMAIL_RUNS:-2}
# Workflows end to end (bench/workflow_bench.py: uvicorn, a Celery worker, beat and a local SMTP server
# started by the script, wrk posting contact forms whose workflow tags the contact and emails them):
# BENCH_WORKFLOW=0 skips it, BENCH_WORKFLOW_ONLY=1 runs only it. Seconds of load per phase: the
# saturating flood, each paced step of the rate ladder (at most BENCH_WORKFLOW_STEPS, or the rates of
# BENCH_WORKFLOW_RATES, e.g. "20,30,40"), and the run at half the sustained rate.
BENCH_WORKFLOW=${BENCH_WORKFLOW:-1}
BENCH_WORKFLOW_ONLY=${BENCH_WORKFLOW_ONLY:-0}
BENCH_WORKFLOW_FORMS=${BENCH_WORKFLOW_FORMS:-4}
# Worker processes: more than the cores, since a task spends most of its time waiting on PostgreSQL
# (measured: 2 processes kept up with under 4 executions/s, 6 with 11.5/s on the same 2 cores).
BENCH_WORKFLOW_WORKERS=${BENCH_WORKFLOW_WORKERS:-6}
# The worker's pool: prefork as the Procfile runs it; "solo" starts BENCH_WORKFLOW_WORKERS single-process
# workers instead, "threads" one worker with that many threads.
BENCH_WORKFLOW_POOL=${BENCH_WORKFLOW_POOL:-prefork}
BENCH_WORKFLOW_FLOOD=${BENCH_WORKFLOW_FLOOD:-10}
BENCH_WORKFLOW_STEP=${BENCH_WORKFLOW_STEP:-20}
BENCH_WORKFLOW_STEPS=${BENCH_WORKFLOW_STEPS:-4}
BENCH_WORKFLOW_HALF=${BENCH_WORKFLOW_HALF:-30}
BENCH_WORKFLOW_RATES=${BENCH_WORKFLOW_RATES:-}
# BENCH_STRICT=1 makes a missed target fail the run.
BENCH_STRICT=${BENCH_STRICT:-0}
# BENCH_WRITE_DOC=0 prints the results without touching docs/benchmarks.md (for experiments).
BENCH_WRITE_DOC=${BENCH_WRITE_DOC:-1}

# Display paths; tree and form requests go to each user's own page and form.
declare -A ENDPOINT_PATHS=(
  [me]=/api/v1/me/ [workspaces]=/api/v1/workspaces/ [tree]="/api/v1/pages/{id}/tree/"
  [tree_c1]="/api/v1/pages/{id}/tree/" [form]="/f/{component_id}/"
)

OUT="$ROOT/var/bench"
BASE="http://127.0.0.1:${BENCH_PORT}"

die() {
  echo "bench: $*" >&2
  exit 1
}

# With BENCH_STRICT=1, a target the part's section of the document (between its markers) says it misses
# fails the run.
strict_check() {
  local doc=$1 marker=$2 what=$3
  if [ "$BENCH_STRICT" = "1" ] && grep -q "misses" <(sed -n "/bench:$marker:start/,/bench:$marker:end/p" "$doc"); then
    die "$what target missed (BENCH_STRICT=1)"
  fi
}

[ -x "$PY" ] || die "no .venv; run 'make bench' (it bootstraps) or 'make test' first"

# --- wrk -------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: wrk not found; installing Debian's wrk"
  if [ "$(id -u)" -eq 0 ]; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } >/dev/null || true
  elif command -v sudo >/dev/null 2>&1; then
    { sudo -n apt-get update -q && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } >/dev/null ||
      true
  fi
  command -v wrk >/dev/null 2>&1 ||
    die "wrk is required and could not be installed; install it (Debian/Ubuntu: apt-get install wrk) and retry"
fi

# --- Services and database -------------------------------------------------------------------------
pg_isready -q -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" 2>/dev/null ||
  die "PostgreSQL is not answering on ${BENCH_PG_HOST}:${BENCH_PG_PORT}"
redis_hostport=${BENCH_REDIS_URL#redis://}
redis_db=${redis_hostport#*/}
redis_hostport=${redis_hostport%%/*}
[ "$redis_db" != "$redis_hostport" ] && [ -n "$redis_db" ] || redis_db=0
[ "$(redis-cli -h "${redis_hostport%:*}" -p "${redis_hostport##*:}" ping 2>/dev/null)" = "PONG" ] ||
  die "Redis is not answering at ${BENCH_REDIS_URL}"

psql_admin() { psql -h "$BENCH_PG_HOST" -p "$BENCH_PG_PORT" -U "$BENCH_PG_USER" -d postgres -v ON_ERROR_STOP=1 "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${BENCH_DB}'")" != "1" ]; then
  echo "bench: creating database ${BENCH_DB}"
  psql_admin -qc "CREATE DATABASE \"${BENCH_DB}\""
fi

SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(64))')
SERVER_ENV=(
  DJANGO_ENV=production
  SECRET_KEY="$SECRET"
  ALLOWED_HOSTS=127.0.0.1
  SECURE_SSL_REDIRECT=false
  ACCESS_LOG=false
  LOG_LEVEL=WARNING
  DATABASE_URL="postgres://${BENCH_PG_USER}@${BENCH_PG_HOST}:${BENCH_PG_PORT}/${BENCH_DB}"
  DB_POOL_MAX_SIZE="$BENCH_DB_POOL_MAX_SIZE"
  REDIS_URL="$BENCH_REDIS_URL"
  FORM_MIN_SUBMIT_SECONDS=0
  FORM_RATE_IP="$BENCH_FORM_RATE"
  FORM_RATE_FORM="$BENCH_FORM_RATE"
  BENCH_USERS="$BENCH_USERS"
  VAR_DIR="$OUT/var"
)
# Shown in the report: everything but the secret.
SERVER_ENV_SHOWN="DJANGO_ENV=production ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false ACCESS_LOG=false"
SERVER_ENV_SHOWN+=" LOG_LEVEL=WARNING DATABASE_URL=…/${BENCH_DB} DB_POOL_MAX_SIZE=${BENCH_DB_POOL_MAX_SIZE}"
SERVER_ENV_SHOWN+=" REDIS_URL=${BENCH_REDIS_URL} FORM_MIN_SUBMIT_SECONDS=0 FORM_RATE_IP=${BENCH_FORM_RATE}"
SERVER_ENV_SHOWN+=" FORM_RATE_FORM=${BENCH_FORM_RATE}${DJANGO_SETTINGS_MODULE:+ DJANGO_SETTINGS_MODULE=$DJANGO_SETTINGS_MODULE}"
server_env() { env "${SERVER_ENV[@]}" "$@"; }

# The document a part's results go to: the real one, or a copy under $OUT with BENCH_WRITE_DOC=0.
results_doc() {
  [ "$BENCH_WRITE_DOC" = "1" ] && { echo "$BENCH_DOC" && return; }
  [ -f "$OUT/benchmarks.md" ] || cp "$BENCH_DOC" "$OUT/benchmarks.md"
  echo "$OUT/benchmarks.md"
}

crm_bench() {
  local doc
  doc=$(results_doc)
  echo "bench: CRM: segment count over ${BENCH_CRM_CONTACTS} contacts, contact list at ${BENCH_CRM_LIST_CONTACTS}, import of ${BENCH_CRM_IMPORT_ROWS} rows"
  server_env "$PY" bench/crm.py "$OUT/crm" --contacts "$BENCH_CRM_CONTACTS" \
    --list-contacts "$BENCH_CRM_LIST_CONTACTS" --import-rows "$BENCH_CRM_IMPORT_ROWS" --parts "$BENCH_CRM_PARTS" >"$OUT/crm.log"
  local command="make bench"
  [ "$BENCH_CRM_ONLY" != "1" ] || command="BENCH_CRM_ONLY=1 make bench"
  echo
  "$PY" bench/crm_report.py "$OUT/crm" "$doc" "$command"
  strict_check "$doc" crm "CRM"
}

email_snapshot_bench() {
  local doc command="make bench"
  doc=$(results_doc)
  [ "$BENCH_EMAIL_ONLY" != "1" ] || command="BENCH_EMAIL_ONLY=1 make bench"
  echo "bench: email: audience snapshot of ${BENCH_EMAIL_SNAPSHOT_CONTACTS} contacts"
  echo
  server_env "$PY" bench/email_snapshot.py "$OUT/email" "$doc" --contacts "$BENCH_EMAIL_SNAPSHOT_CONTACTS" \
    --earlier "$BENCH_EMAIL_SNAPSHOT_EARLIER" --runs "$BENCH_EMAIL_SNAPSHOT_RUNS" --command "$command" \
    2>"$OUT/email_snapshot.log"
  strict_check "$doc" email-snapshot "email snapshot"
}

email_send_bench() {
  local doc command="make bench"
  doc=$(results_doc)
  [ "$BENCH_EMAIL_ONLY" != "1" ] || command="BENCH_EMAIL_ONLY=1 make bench"
  echo "bench: email: a campaign to ${BENCH_EMAIL_CONTACTS} contacts, ${BENCH_EMAIL_WORKERS} workers, a local SMTP server"
  echo
  server_env "$PY" bench/email_send.py "$OUT/email" "$doc" --contacts "$BENCH_EMAIL_CONTACTS" \
    --workers "$BENCH_EMAIL_WORKERS" --runs "$BENCH_EMAIL_RUNS" --command "$command" 2>"$OUT/email_send.log"
  strict_check "$doc" email-send "email sending"
}

workflow_bench() {
  local doc command="make bench"
  doc=$(results_doc)
  [ "$BENCH_WORKFLOW_ONLY" != "1" ] || command="BENCH_WORKFLOW_ONLY=1 make bench"
  echo "bench: workflows: form submissions to a condition → add_tag → send_email workflow, ${BENCH_WORKFLOW_WORKERS} worker processes, a local SMTP server"
  echo
  server_env "$PY" bench/workflow_bench.py "$OUT/workflow" "$doc" --port "$BENCH_PORT" \
    --web-workers "$BENCH_WORKERS" --workers "$BENCH_WORKFLOW_WORKERS" --pool "$BENCH_WORKFLOW_POOL" --forms "$BENCH_WORKFLOW_FORMS" \
    --connections "$BENCH_CONNECTIONS" --flood-seconds "$BENCH_WORKFLOW_FLOOD" --step-seconds "$BENCH_WORKFLOW_STEP" \
    --max-steps "$BENCH_WORKFLOW_STEPS" --half-seconds "$BENCH_WORKFLOW_HALF" --rates "$BENCH_WORKFLOW_RATES" \
    --command "$command" 2>"$OUT/workflow.log"
  strict_check "$doc" workflows "workflow"
}

rm -rf "$OUT"
mkdir -p "$OUT/var"

redis-cli -h "${redis_hostport%:*}" -p "${redis_hostport##*:}" -n "$redis_db" flushdb >/dev/null
echo "bench: migrating ${BENCH_DB}"
server_env "$PY" manage.py migrate --noinput -v0
server_env "$PY" manage.py collectstatic --noinput -v0
if [ "$BENCH_CRM_ONLY" = "1" ]; then
  crm_bench
  exit 0
fi
if [ "$BENCH_WORKFLOW_ONLY" = "1" ]; then
  workflow_bench
  exit 0
fi
if [ "$BENCH_EMAIL_ONLY" = "1" ]; then
  [ "$BENCH_EMAIL_SNAPSHOT" != "1" ] || email_snapshot_bench
  [ "$BENCH_EMAIL" != "1" ] || email_send_bench
  exit 0
fi
echo "bench: creating ${BENCH_USERS} users, their tokens and builder sites"
TOKENS_FILE="$OUT/tokens.txt"
BUILDER="$OUT/builder"
server_env "$PY" bench/setup_data.py --builder "$BUILDER" >"$TOKENS_FILE"
[ "$(grep -c . "$TOKENS_FILE")" = "$BENCH_USERS" ] || die "could not create the benchmark users and tokens"
[ "$(grep -c . "$BUILDER/tree_tokens.txt")" = "$BENCH_USERS" ] || die "could not create the builder sites"
TOKEN=$(head -n1 "$TOKENS_FILE")
TREE_PATH=$(head -n1 "$BUILDER/tree_tokens.txt" | cut -d' ' -f2)
read -r FORM_ID FORM_TOKEN <"$BUILDER/forms.txt"
# shellcheck disable=SC1091
. "$BUILDER/render.env"

# --- Render (in-process, before the server starts, so nothing else of ours competes for the cores) --
if [ "$BENCH_RENDER" = "1" ]; then
  echo "bench: rendering page ${RENDER_PAGE_ID} (${BENCH_RENDER_RUNS} runs per call)"
  server_env "$PY" bench/render.py --page-id "$RENDER_PAGE_ID" --runs "$BENCH_RENDER_RUNS" --out "$OUT/render.json"
fi

# --- Server ----------------------------------------------------------------------------------------
if (exec 3<>"/dev/tcp/127.0.0.1/${BENCH_PORT}") 2>/dev/null; then
  die "port ${BENCH_PORT} is already in use; set BENCH_PORT"
fi
SERVER_CMD=(
  "$ROOT/.venv/bin/uvicorn" "$BENCH_APP"
  --host 127.0.0.1 --port "$BENCH_PORT"
  --workers "$BENCH_WORKERS" --loop uvloop --http httptools
  --no-access-log --lifespan off --log-level warning
)
# shellcheck disable=SC2206  # word splitting wanted: extra options
[ -z "$BENCH_UVICORN_ARGS" ] || SERVER_CMD+=($BENCH_UVICORN_ARGS)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

echo "bench: starting ${BENCH_WORKERS} uvicorn workers on ${BASE}"
setsid env "${SERVER_ENV[@]}" "${SERVER_CMD[@]}" >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 150); do
  if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; die "the server exited during start-up"; }
  sleep 0.2
done
curl -fsS -o /dev/null "$BASE/healthz" || { cat "$OUT/server.log" >&2; die "/healthz did not answer within 30s"; }

# The URL each endpoint's wrk run starts from (auth.lua replaces the tree path per user).
declare -A ENDPOINT_URLS=(
  [me]="$BASE/api/v1/me/" [workspaces]="$BASE/api/v1/workspaces/" [tree]="$BASE$TREE_PATH"
  [tree_c1]="$BASE$TREE_PATH" [form]="$BASE/f/$FORM_ID/"
)
for name in $BENCH_ENDPOINTS; do
  url=${ENDPOINT_URLS[$name]:-}
  [ -n "$url" ] || die "unknown endpoint '$name' (known: ${!ENDPOINT_URLS[*]})"
  if [ "$name" = "form" ]; then
    code=$(curl -sS -o "$OUT/$name.json" -w '%{http_code}' -H "Accept: application/json" \
      --data-urlencode "name=Bench check" --data-urlencode "email=check@bench.example.com" \
      --data-urlencode "message=Is this form storing submissions?" --data-urlencode "website_url=" \
      --data-urlencode "_ts=$FORM_TOKEN" "$url")
    [ "$code" = "201" ] || { cat "$OUT/$name.json" >&2; die "POST $url answered $code, expected 201"; }
  else
    code=$(curl -sS -o "$OUT/$name.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")
    [ "$code" = "200" ] || { cat "$OUT/$name.json" >&2; die "GET $url answered $code, expected 200"; }
  fi
done

# --- Load ------------------------------------------------------------------------------------------
export BENCH_FORMS_FILE="$BUILDER/forms.txt"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
WRK=(wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS")
WRK_C1=(wrk -t 1 -c 1)
for name in $BENCH_ENDPOINTS; do
  path=${ENDPOINT_PATHS[$name]}
  url=${ENDPOINT_URLS[$name]}
  if [ "$name" = "form" ]; then
    echo "bench: POST $path: ${BENCH_WARMUP} warm-up, then ${BENCH_FORM_DURATION} with ${BENCH_CONNECTIONS} connections"
    "${WRK[@]}" -d "$BENCH_WARMUP" --timeout 10s -s bench/form.lua "$url" >/dev/null
    # Requests still in flight when the warm-up stopped finish before the count is taken.
    sleep 1
    server_env "$PY" bench/form_check.py "$BUILDER/forms.txt" >"$OUT/form_before.json"
    mkdir -p "$OUT/form_ids"
    BENCH_FORM_IDS_DIR="$OUT/form_ids" "${WRK[@]}" -d "$BENCH_FORM_DURATION" --timeout 10s --latency \
      -s bench/form.lua "$url" | tee "$OUT/$name.txt"
    sleep 1
    server_env "$PY" bench/form_check.py "$BUILDER/forms.txt" "$OUT/form_before.json" "$OUT/form_ids" |
      tee "$OUT/form_check.json"
  else
    tokens="$TOKENS_FILE" load=("${WRK[@]}") connections=$BENCH_CONNECTIONS
    case "$name" in tree | tree_c1) tokens="$BUILDER/tree_tokens.txt" ;; esac
    [ "$name" != "tree_c1" ] || { load=("${WRK_C1[@]}") && connections=1; }
    echo "bench: GET $path: ${BENCH_WARMUP} warm-up, then ${BENCH_DURATION} with ${connections} connection(s)"
    BENCH_TOKENS_FILE="$tokens" "${load[@]}" -d "$BENCH_WARMUP" -s bench/auth.lua "$url" >/dev/null
    BENCH_TOKENS_FILE="$tokens" "${load[@]}" -d "$BENCH_DURATION" --latency -s bench/auth.lua "$url" |
      tee "$OUT/$name.txt"
  fi
done
stop_server

# --- Report ----------------------------------------------------------------------------------------
{
  echo "ENDPOINTS=$BENCH_ENDPOINTS"
  for name in $BENCH_ENDPOINTS; do echo "PATH_$name=${ENDPOINT_PATHS[$name]}"; done
  echo "TARGET_RPS_me=$BENCH_TARGET_RPS"
  echo "TARGET_P95_MS_me=$BENCH_TARGET_P95_MS"
  echo "TARGET_RPS_workspaces=$BENCH_TARGET_RPS"
  echo "TARGET_P95_MS_workspaces=$BENCH_TARGET_P95_MS"
  echo "TARGET_P95_MS_tree=$BENCH_TREE_TARGET_P95_MS"
  echo "LABEL_tree= (100 components)"
  echo "TARGET_P95_MS_tree_c1=$BENCH_TREE_TARGET_P95_MS"
  echo "LABEL_tree_c1= (100 components), 1 connection"
  echo "TARGET_RPS_form=$BENCH_FORM_TARGET_RPS"
  echo "TARGET_RENDER_MEDIAN_MS=$BENCH_RENDER_TARGET_MEDIAN_MS"
  echo "FORM_DURATION=$BENCH_FORM_DURATION"
  echo "FORMS=$(grep -c . "$BUILDER/forms.txt")"
  echo "COMMAND=make bench"
  echo "SERVER_CMD=uvicorn ${BENCH_APP} --workers ${BENCH_WORKERS} --loop uvloop --http httptools --no-access-log --lifespan off${BENCH_UVICORN_ARGS:+ $BENCH_UVICORN_ARGS}"
  echo "SERVER_ENV=${SERVER_ENV_SHOWN}"
  echo "THREADS=$BENCH_THREADS"
  echo "CONNECTIONS=$BENCH_CONNECTIONS"
  echo "USERS=$BENCH_USERS"
  echo "DURATION=$BENCH_DURATION"
  echo "WARMUP=$BENCH_WARMUP"
  echo "LOADAVG_START=$LOADAVG_START"
  echo "LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
  echo "PG_VERSION=$(psql_admin -tAc 'SHOW server_version' | awk '{print "PostgreSQL " $1}')"
  echo "REDIS_VERSION=$(redis-cli -h "${redis_hostport%:*}" -p "${redis_hostport##*:}" info server | sed -n 's/^redis_version:\([^[:space:]]*\).*/\1/p')"
  echo "UVICORN_VERSION=$("$PY" -c 'import uvicorn; print(uvicorn.__version__)')"
} >"$OUT/meta.env"

doc="$BENCH_DOC"
[ "$BENCH_WRITE_DOC" = "1" ] || doc="$OUT/benchmarks.md"
echo
"$PY" bench/report.py "$OUT" "$doc"
[ "$BENCH_WRITE_DOC" = "1" ] && echo "bench: results written to $BENCH_DOC"

if [ "$BENCH_STRICT" = "1" ] && grep -q "misses" <(sed -n '/bench:results:start/,/bench:results:end/p' "$doc"); then
  die "target missed (BENCH_STRICT=1)"
fi

[ "$BENCH_CRM" != "1" ] || crm_bench
[ "$BENCH_EMAIL_SNAPSHOT" != "1" ] || email_snapshot_bench
[ "$BENCH_EMAIL" != "1" ] || email_send_bench
[ "$BENCH_WORKFLOW" != "1" ] || workflow_bench

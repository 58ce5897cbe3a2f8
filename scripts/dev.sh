#!/usr/bin/env bash
# Usage: scripts/dev.sh [start|stop|status|restart]      (default: start)
#
# start    installs missing Debian packages, runs PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379)
#          as our own processes under .data/, creates database smscrm, writes .data/dev.env, installs the
#          admin UI's assets (scripts/web-assets.sh), builds,
#          migrates, starts twilio-sandbox, smscrm-api and smscrm-worker in the background
#          (logs .data/logs/NAME.log, pids .data/pids/NAME.pid) and waits for the API's /ready.
#          Running it again is harmless: what runs keeps running; a Swift process whose binary was
#          rebuilt since it started is restarted.
# stop     stops the Swift processes (TERM, then KILL), Redis and PostgreSQL.
# status   shows what is running and answering.
# restart  stop, then start.
#
# Configuration: defaults below < the environment < .env in the repository root (if present).
# DEV_PG_PORT / DEV_REDIS_PORT move the dev servers (keep them below 32768, the ephemeral range).
# SMSCRM_BUILD=release builds and runs optimised binaries (what the benchmarks under bench/ measure);
# the default is debug.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMSCRM_LOG_TAG=dev.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

DATA=$ROOT/.data
PIDS=$DATA/pids
LOGS=$DATA/logs
PGDATA_DIR=$DATA/postgres
REDIS_DIR=$DATA/redis
ENV_FILE=$DATA/dev.env
PROCESSES=(twilio-sandbox smscrm-api smscrm-worker) # start order; stopped in reverse

# The variables every process reads (see .env.example).
CONFIG_VARS=(DATABASE_URL REDIS_URL PORT WORKER_HEALTH_PORT API_HOST WORKER_HEALTH_HOST SANDBOX_PORT PUBLIC_BASE_URL
  TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_API_BASE WORKER_CONCURRENCY LOG_LEVEL LOG_FORMAT
  DATABASE_POOL_SIZE REDIS_POOL_SIZE MIGRATIONS_DIR WEB_DIR)

load_config() {
  if [[ -f $ROOT/.env ]]; then
    set -a
    # shellcheck disable=SC1091
    source "$ROOT/.env"
    set +a
    say "loaded overrides from .env"
  fi
  : "${DEV_PG_PORT:=5432}" "${DEV_REDIS_PORT:=6379}" "${DEV_DB_NAME:=smscrm}"
  : "${PORT:=3000}" "${WORKER_HEALTH_PORT:=3002}" "${SANDBOX_PORT:=3003}"
  : "${API_HOST:=127.0.0.1}" "${WORKER_HEALTH_HOST:=127.0.0.1}"
  : "${DATABASE_URL:=postgres://postgres@127.0.0.1:$DEV_PG_PORT/$DEV_DB_NAME}"
  : "${REDIS_URL:=redis://127.0.0.1:$DEV_REDIS_PORT/0}"
  : "${PUBLIC_BASE_URL:=http://localhost:$PORT}"
  : "${TWILIO_ACCOUNT_SID:=AC00000000000000000000000000000000}"
  : "${TWILIO_AUTH_TOKEN:=devtoken}"
  : "${TWILIO_API_BASE:=http://127.0.0.1:$SANDBOX_PORT}"
  : "${WORKER_CONCURRENCY:=4}" "${LOG_LEVEL:=info}" "${LOG_FORMAT:=text}"
  : "${DATABASE_POOL_SIZE:=10}" "${REDIS_POOL_SIZE:=10}"
  : "${MIGRATIONS_DIR:=$ROOT/migrations}"
  : "${WEB_DIR:=$ROOT/web}"
  local var
  for var in "${CONFIG_VARS[@]}"; do export "${var?}"; done
  for var in DEV_PG_PORT DEV_REDIS_PORT PORT WORKER_HEALTH_PORT SANDBOX_PORT; do
    [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a port number, got '${!var}'"
    ((${!var} < 32768)) || say "warning: $var=${!var} is in the ephemeral port range (32768-60999); a client socket may take it"
  done
}

write_env_file() {
  local var tmp=$ENV_FILE.tmp
  {
    echo "# Written by scripts/dev.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Load it with:"
    echo "#   set -a; source .data/dev.env; set +a"
    for var in "${CONFIG_VARS[@]}"; do printf '%s=%q\n' "$var" "${!var}"; done
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
  say "wrote $ENV_FILE"
}

port_of() { # the port each process listens on
  case $1 in
  twilio-sandbox) echo "$SANDBOX_PORT" ;;
  smscrm-api) echo "$PORT" ;;
  smscrm-worker) echo "$WORKER_HEALTH_PORT" ;;
  esac
}

# Prints the pid of our running NAME, or fails. Checks the command name too, in case the pid was reused.
running_pid() {
  local name=$1 pidfile=$PIDS/$1.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  [[ $(ps -o comm= -p "$pid" 2>/dev/null || true) == "${name:0:15}" ]] || return 1
  echo "$pid"
}

stop_process() {
  local name=$1 pid
  if pid=$(running_pid "$name"); then
    kill_and_wait "$pid" 15 || die "could not stop $name (pid $pid)"
    say "stopped $name (pid $pid)"
  else
    say "$name is not running"
  fi
  rm -f "$PIDS/$name.pid"
}

start_process() {
  local name=$1 bin=$BIN_DIR/$1 port pid log=$LOGS/$1.log
  port=$(port_of "$name")
  if [[ ! -x $bin ]]; then
    say "warning: $bin was not built; not starting $name"
    return 0
  fi
  if pid=$(running_pid "$name"); then
    if [[ $bin -nt $PIDS/$name.pid ]]; then
      say "$name (pid $pid) runs an older build; restarting it"
      stop_process "$name"
    else
      say "$name already running (pid $pid, port $port)"
      return 0
    fi
  fi
  if port_in_use "$port"; then
    die "port $port is in use by a process dev.sh did not start, so $name cannot listen there; stop that process or choose another port in .env"
  fi
  # setsid: its own session, so a Ctrl-C or a closed terminal doesn't reach it; nohup for good measure.
  (exec setsid nohup "$bin" >>"$log" 2>&1 </dev/null) &
  echo "$!" >"$PIDS/$name.pid"
  say "started $name (pid $!, port $port, log $log)"
}

check_started() { # a process that dies at once (bad configuration, port taken) is reported with its log
  local name
  sleep 1
  for name in "${PROCESSES[@]}"; do
    [[ -x $BIN_DIR/$name ]] || continue
    if ! running_pid "$name" >/dev/null; then
      tail -n 40 "$LOGS/$name.log" >&2 || true
      die "$name exited right after starting; its log is above ($LOGS/$name.log)"
    fi
  done
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true; }

wait_until_ready() {
  local url="http://127.0.0.1:$PORT/ready" i code=""
  say "waiting for $url"
  for ((i = 0; i < 120; i++)); do
    code=$(http_code "$url")
    if [[ $code == 200 ]]; then
      say "API ready"
      return 0
    fi
    running_pid smscrm-api >/dev/null || break
    sleep 0.5
  done
  tail -n 40 "$LOGS/smscrm-api.log" >&2 || true
  if running_pid smscrm-api >/dev/null; then
    die "$url did not answer 200 within 60s (last status: ${code:-none}); the API log is above"
  fi
  die "smscrm-api exited while starting; its log is above ($LOGS/smscrm-api.log)"
}

ensure_port_free_for() { # NAME PORT: fail clearly if the port is taken by something that isn't ours
  port_in_use "$2" || return 0
  die "port $2 is already in use by a process that dev.sh did not start, so $1 cannot listen there.
    Stop that process, or pick another port in .env (DEV_PG_PORT / DEV_REDIS_PORT)."
}

start_servers() {
  mkdir -p "$DATA" "$PIDS" "$LOGS"
  if ! redis_pid "$REDIS_DIR" >/dev/null; then ensure_port_free_for Redis "$DEV_REDIS_PORT"; fi
  if [[ ! -f $PGDATA_DIR/postmaster.pid ]]; then ensure_port_free_for PostgreSQL "$DEV_PG_PORT"; fi
  start_postgres "$PGDATA_DIR" "$DEV_PG_PORT"
  start_redis "$REDIS_DIR" "$DEV_REDIS_PORT"
  local psql=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$DEV_PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
  if [[ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DEV_DB_NAME'")" ]]; then
    "${psql[@]}" -c "CREATE DATABASE \"$DEV_DB_NAME\""
    say "created database $DEV_DB_NAME"
  else
    say "database $DEV_DB_NAME exists"
  fi
}

cmd_start() {
  # shellcheck disable=SC2119
  ensure_packages
  load_config
  start_servers
  write_env_file
  "$ROOT/scripts/web-assets.sh" "$WEB_DIR"

  local build=${SMSCRM_BUILD:-debug}
  [[ $build == debug || $build == release ]] || die "SMSCRM_BUILD must be debug or release, got '$build'"
  say "swift build -c $build"
  swift build -c "$build"
  BIN_DIR=$(swift build -c "$build" --show-bin-path)

  say "smscrm migrate ($MIGRATIONS_DIR)"
  "$BIN_DIR/smscrm" migrate

  local name
  for name in "${PROCESSES[@]}"; do start_process "$name"; done
  check_started
  wait_until_ready

  cat <<EOF

smscrm dev stack is up.
  admin UI         http://127.0.0.1:$PORT/ui     (log in with a user made by: smscrm user create …)
  API              http://127.0.0.1:$PORT        (/health, /ready)
  worker health    http://127.0.0.1:$WORKER_HEALTH_PORT/health
  Twilio sandbox   http://127.0.0.1:$SANDBOX_PORT
  PostgreSQL       $DATABASE_URL
  Redis            $REDIS_URL
  logs             $LOGS/{twilio-sandbox,smscrm-api,smscrm-worker}.log
                   $PGDATA_DIR/postgres.log, $REDIS_DIR/redis.log
  environment      set -a; source .data/dev.env; set +a
  status / stop    scripts/dev.sh status    scripts/dev.sh stop
EOF
}

cmd_stop() {
  local i
  for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do stop_process "${PROCESSES[i]}"; done
  stop_redis "$REDIS_DIR"
  stop_postgres "$PGDATA_DIR"
}

cmd_status() {
  if [[ -f $ENV_FILE ]]; then
    set -a
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    set +a
  fi
  load_config 2>/dev/null
  local name pid url
  if [[ -f $PGDATA_DIR/PG_VERSION ]] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; then
    echo "postgres        running (port $(sed -n 4p "$PGDATA_DIR/postmaster.pid"), $DATABASE_URL)"
  else
    echo "postgres        stopped"
  fi
  if pid=$(redis_pid "$REDIS_DIR"); then
    echo "redis           running (pid $pid, $REDIS_URL)"
  else
    echo "redis           stopped"
  fi
  for name in "${PROCESSES[@]}"; do
    url="http://127.0.0.1:$(port_of "$name")/health"
    if pid=$(running_pid "$name"); then
      printf '%-15s running (pid %s) %s -> %s\n' "$name" "$pid" "$url" "$(http_code "$url")"
    else
      printf '%-15s stopped\n' "$name"
    fi
  done
  if running_pid smscrm-api >/dev/null; then
    echo "ready           http://127.0.0.1:$PORT/ready -> $(http_code "http://127.0.0.1:$PORT/ready")"
  fi
}

case "${1:-start}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart)
  cmd_stop
  cmd_start
  ;;
-h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
*)
  echo "usage: scripts/dev.sh [start|stop|status|restart]" >&2
  exit 2
  ;;
esac

#!/usr/bin/env bash
# Shared helpers for scripts/dev.sh, scripts/test.sh and the restart scripts test.sh writes.
# Usage (source it, don't run it):  source "$ROOT/scripts/lib.sh"
#
#   ensure_packages [EXTRA_PKG...]   install the missing Debian packages the project needs
#   start_postgres DIR PORT [fast]   initdb DIR if needed, start PostgreSQL on 127.0.0.1:PORT
#                                    ("fast" = fsync/synchronous_commit/full_page_writes off: test clusters only)
#   stop_postgres DIR                pg_ctl stop -m fast; fine if it is not running
#   start_redis DIR PORT             redis-server on 127.0.0.1:PORT, no persistence, daemonized
#   stop_redis DIR                   stop the redis-server whose pidfile is DIR/redis.pid
#   free_port [EXCLUDED_PORT...]     print a free TCP port on 127.0.0.1 (below the ephemeral range)
#   port_in_use PORT                 true if something accepts connections on 127.0.0.1:PORT
#
# Messages go to stderr, prefixed with $SMSCRM_LOG_TAG. Functions that can fail print why and
# exit (die); stop_* only return non-zero, so cleanup code can call them safely.

# PostgreSQL 15 binaries are not on PATH on Debian (only the pg_wrapper scripts are).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Everything the build, the scripts and the tests need from Debian 12.
SMSCRM_PACKAGES=(
  libpq-dev libhiredis-dev libcurl4-openssl-dev pkgconf   # C libraries of the drivers
  libphonenumber-dev libprotobuf-dev                     # phone numbers (CPhoneNumber links both)
  tzdata                                                 # /usr/share/zoneinfo/tzdata.zi: every zone and link name
  postgresql-15 redis-server                             # servers for dev and tests (redis-tools comes along)
  curl procps python3                                    # readiness probes, ps, free_port
)
# What only scripts/test.sh needs on top (it passes them to ensure_packages; dev.sh doesn't).
# shellcheck disable=SC2034 # used by scripts/test.sh
SMSCRM_TEST_PACKAGES=(
  prometheus                                             # promtool, for scripts/check-alerts.sh
  chromium chromium-driver python3-venv                  # the admin UI's browser tests (tests/ui/run.sh)
)

say() { printf '[%s] %s\n' "${SMSCRM_LOG_TAG:-smscrm}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

abs_path() { realpath -m -- "$1"; }

# Runs a command as the postgres OS user when we are root (initdb and postgres refuse root),
# from / so that an unreadable current directory doesn't produce warnings.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True if PID is a live process (a zombie that we have not reaped yet counts as dead).
proc_alive() {
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(ps -o stat= -p "$pid" 2>/dev/null || true)
  [[ -n $stat && $stat != Z* ]]
}

# kill_and_wait PID [TIMEOUT_SECONDS]: TERM, wait, then KILL.
kill_and_wait() {
  local pid=$1 timeout=${2:-10} i
  proc_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    proc_alive "$pid" || return 0
    sleep 0.1
  done
  say "pid $pid still running ${timeout}s after TERM; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    proc_alive "$pid" || return 0
    sleep 0.1
  done
  say "pid $pid survived KILL"
  return 1
}

# shellcheck disable=SC2120 # extra packages are optional
ensure_packages() {
  local missing=() pkg
  for pkg in "${SMSCRM_PACKAGES[@]}" "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    say "packages: all required Debian packages are installed"
    return 0
  fi
  if ((EUID != 0)); then
    die "missing Debian packages: ${missing[*]}
    install them as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  say "installing missing Debian packages: ${missing[*]}"
  # Debian's postinst scripts would start system-wide postgresql/redis services on 5432/6379,
  # the ports dev.sh wants. A policy-rc.d that says "no" keeps them stopped (only while we install).
  local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  } </dev/null || rc=$?
  if ((added_policy)); then rm -f "$policy"; fi
  ((rc == 0)) || die "apt-get failed (status $rc) while installing: ${missing[*]}"
  say "installed: ${missing[*]}"
}

port_in_use() {
  local port=$1
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

# Prints a port that nobody is bound to. It picks from 20000-32000, below Linux's ephemeral range
# (32768-60999), so an outgoing client socket can't grab it between this check and the server's
# bind; the kernel confirms it is free by letting us bind it. Ports given as arguments are skipped,
# so consecutive calls can ask for distinct ports.
free_port() {
  python3 - "$@" <<'PY'
import random, socket, sys
exclude = {int(a) for a in sys.argv[1:]}
def bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(500):
    port = random.randint(20000, 32000)
    if port not in exclude and bindable(port):
        print(port)
        sys.exit(0)
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

_check_port_arg() {
  if ! [[ $1 =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then die "not a TCP port: '$1'"; fi
}

_pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

_wait_for_postgres() {
  local port=$1 seconds=${2:-60} i
  for ((i = 0; i < seconds * 4; i++)); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
    sleep 0.25
  done
  return 1
}

start_postgres() {
  (($# >= 2)) || die "usage: start_postgres DIR PORT [fast]"
  local dir port=$2 mode=${3:-durable} out locale
  dir=$(abs_path "$1")
  _check_port_arg "$port"
  [[ $dir != *[\'\ ]* ]] || die "PostgreSQL directory must not contain spaces or quotes: $dir"
  [[ -x $PG_BIN/postgres ]] || die "$PG_BIN/postgres not found (is postgresql-15 installed?)"

  mkdir -p "$dir"
  if ((EUID == 0)); then
    chown postgres:postgres "$dir"
  fi
  chmod 700 "$dir"
  as_pg test -w "$dir" ||
    die "the postgres user cannot write $dir; its parent directories must be searchable (chmod o+x) by that user"

  if [[ ! -f $dir/PG_VERSION ]]; then
    locale=C
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi
    say "initdb: new PostgreSQL cluster in $dir (superuser postgres, trust auth, UTF8, locale $locale)"
    out=$(as_pg "$PG_BIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale="$locale" 2>&1) || {
      printf '%s\n' "$out" >&2
      die "initdb failed for $dir"
    }
  fi

  if _pg_running "$dir"; then
    local running_port
    running_port=$(sed -n 4p "$dir/postmaster.pid" 2>/dev/null || true)
    [[ $running_port == "$port" ]] ||
      die "PostgreSQL in $dir is already running on port ${running_port:-?}, not $port; stop it first"
    _wait_for_postgres "$port" 30 || die "PostgreSQL in $dir is running but not accepting connections on port $port"
    say "PostgreSQL already running: 127.0.0.1:$port ($dir)"
    return 0
  fi
  if port_in_use "$port"; then
    die "port $port on 127.0.0.1 is already in use by another process; PostgreSQL ($dir) cannot use it"
  fi

  local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir'"
  opts+=" -c max_connections=${PG_MAX_CONNECTIONS:-200}"
  if [[ $mode == fast ]]; then
    # Throwaway test clusters only: a crash may lose or corrupt data.
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  elif [[ $mode != durable ]]; then
    die "start_postgres: mode must be 'fast' or 'durable', got '$mode'"
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >/dev/null; then
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "PostgreSQL failed to start in $dir on port $port (log: $dir/postgres.log)"
  fi
  _wait_for_postgres "$port" 60 || {
    tail -n 30 "$dir/postgres.log" >&2 || true
    die "PostgreSQL in $dir did not become ready on port $port"
  }
  say "started PostgreSQL on 127.0.0.1:$port ($dir, $mode, log $dir/postgres.log)"
}

stop_postgres() {
  (($# >= 1)) || { say "usage: stop_postgres DIR"; return 2; }
  local dir
  dir=$(abs_path "$1")
  if [[ ! -f $dir/PG_VERSION ]]; then
    say "no PostgreSQL cluster in $dir; nothing to stop"
    return 0
  fi
  if ! _pg_running "$dir"; then
    say "PostgreSQL ($dir) is not running"
    return 0
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null; then
    say "fast shutdown of $dir failed; trying immediate"
    as_pg "$PG_BIN/pg_ctl" -D "$dir" -m immediate -w -t 30 stop >/dev/null || {
      say "could not stop PostgreSQL in $dir"
      return 1
    }
  fi
  say "stopped PostgreSQL ($dir)"
}

# Prints the pid of the live redis-server that owns DIR/redis.pid, or fails.
redis_pid() {
  local pidfile=$1/redis.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  [[ $(ps -o comm= -p "$pid" 2>/dev/null || true) == redis-server* ]] || return 1
  echo "$pid"
}

_redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null || true)" == PONG ]]; }

start_redis() {
  (($# >= 2)) || die "usage: start_redis DIR PORT"
  local dir port=$2 pid i
  dir=$(abs_path "$1")
  _check_port_arg "$port"
  mkdir -p "$dir"
  if pid=$(redis_pid "$dir"); then
    _redis_ping "$port" || die "redis-server for $dir (pid $pid) is running but does not answer on port $port"
    say "Redis already running: 127.0.0.1:$port (pid $pid, $dir)"
    return 0
  fi
  rm -f "$dir/redis.pid"
  if port_in_use "$port"; then
    die "port $port on 127.0.0.1 is already in use by another process; Redis ($dir) cannot use it"
  fi
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" ||
    die "redis-server failed to start in $dir on port $port"
  for ((i = 0; i < 120; i++)); do
    if _redis_ping "$port"; then
      say "started Redis on 127.0.0.1:$port (pid $(cat "$dir/redis.pid" 2>/dev/null || echo ?), $dir, log $dir/redis.log)"
      return 0
    fi
    sleep 0.25
  done
  tail -n 30 "$dir/redis.log" >&2 || true
  die "Redis in $dir did not answer PING on port $port within 30s"
}

stop_redis() {
  (($# >= 1)) || { say "usage: stop_redis DIR"; return 2; }
  local dir pid
  dir=$(abs_path "$1")
  if ! pid=$(redis_pid "$dir"); then
    say "Redis ($dir) is not running"
    rm -f "$dir/redis.pid"
    return 0
  fi
  kill_and_wait "$pid" 10 || return 1
  rm -f "$dir/redis.pid"
  say "stopped Redis (pid $pid, $dir)"
}

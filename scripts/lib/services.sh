# shellcheck shell=bash
#
# Helpers for the local backing services (PostgreSQL, Redis, RabbitMQ) and
# developer tools.  Sourced by scripts/dev; expects the caller to run with
# `set -euo pipefail`.
#
# Every ensure_* function is idempotent: when the service already answers it
# does nothing, so calling it before every test run is cheap.
#
# There is no systemd on the dev/CI machines, so daemons are started directly
# (pg_ctlcluster --skip-systemctl-redirect, redis-server --daemonize, ...).

# Guard against double sourcing (the apt "already updated" flag must survive).
if [[ -n "${_SERVICES_SH_LOADED:-}" ]]; then
  return 0
fi
_SERVICES_SH_LOADED=1

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
RABBITMQ_HOST=127.0.0.1
RABBITMQ_PORT=5672

# Bounded waits (seconds).  RabbitMQ boots an Erlang VM and is much slower.
SERVICE_WAIT_SECS=${SERVICE_WAIT_SECS:-60}
RABBITMQ_WAIT_SECS=${RABBITMQ_WAIT_SECS:-90}

# Set once `apt-get update` has run in this process, so that installing
# several packages does not refresh the package index several times.
_APT_UPDATED=0

# Set by ensure_cargo_nextest: 1 if `cargo nextest` works, else 0.
# shellcheck disable=SC2034  # read by scripts/dev
HAVE_NEXTEST=0

# --- small utilities ---------------------------------------------------------

log() { printf '  %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# tcp_open HOST PORT: true if something accepts TCP connections there.
# The timeout keeps a filtered port from hanging the caller.
tcp_open() {
  # shellcheck disable=SC2016  # $1/$2 are expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_until DESCRIPTION TIMEOUT_SECS COMMAND [ARGS...]
# Polls COMMAND once a second until it succeeds; dies after TIMEOUT_SECS.
wait_until() {
  local what=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      die "timed out after ${timeout}s waiting for ${what}"
    fi
    sleep 1
  done
}

# apt_install PACKAGE...: install Debian packages when root, otherwise tell
# the user exactly what to install and stop (we never sudo on their behalf).
apt_install() {
  if ! is_root; then
    printf 'error: missing packages: %s\n' "$*" >&2
    printf '       install them with: sudo apt-get install -y %s\n' "$*" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get not found; install these packages manually: $*"
  fi
  if [[ "$_APT_UPDATED" -eq 0 ]]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    _APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# ensure_tool COMMAND DEBIAN_PACKAGE
ensure_tool() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  apt_install "$pkg"
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still not found after installing '$pkg'"
}

# ensure_cargo_nextest: sets HAVE_NEXTEST.  Deliberately never installs it;
# the caller falls back to `cargo test`.
# shellcheck disable=SC2034  # HAVE_NEXTEST is read by scripts/dev
ensure_cargo_nextest() {
  if cargo nextest --version >/dev/null 2>&1; then
    HAVE_NEXTEST=1
  else
    HAVE_NEXTEST=0
  fi
}

# --- PostgreSQL --------------------------------------------------------------

pg_answers() {
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
}

# Passwordless TCP login as postgres; -w so it can never block on a prompt.
pg_trust_works() {
  psql -w -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -tAc 'SELECT 1' >/dev/null 2>&1
}

# Newest installed server major version (from the package, not the clusters).
pg_installed_version() {
  local dir
  [[ -d /usr/lib/postgresql ]] || return 0 # not installed: find would fail under pipefail
  dir=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
    sed 's|/usr/lib/postgresql/||; s|/bin/postgres||' | sort -V | tail -n 1)
  printf '%s' "$dir"
}

# Newest version that has a configured cluster (/etc/postgresql/<ver>/main).
pg_cluster_version() {
  local ver=""
  if [[ -d /etc/postgresql ]]; then
    ver=$(find /etc/postgresql -mindepth 2 -maxdepth 2 -name main -type d 2>/dev/null |
      sed 's|/etc/postgresql/||; s|/main||' | sort -V | tail -n 1)
  fi
  printf '%s' "$ver"
}

# A fresh Debian cluster uses scram-sha-256 for TCP connections; the test
# suite and `scripts/dev up` connect as postgres@127.0.0.1 without a password.
# Prepend trust rules (pg_hba.conf is first-match) rather than rewriting
# existing lines, and keep a backup.
pg_enable_local_trust() {
  local ver=$1
  local hba="/etc/postgresql/${ver}/main/pg_hba.conf"
  local marker='# added by scripts/lib/services.sh: local trust for dev/CI'
  [[ -f "$hba" ]] || die "cannot find $hba to enable trust auth"
  if grep -qF "$marker" "$hba"; then
    return 0
  fi
  is_root || die "passwordless login to PostgreSQL on ${PG_HOST} fails; set 'trust' for 127.0.0.1/32 and ::1/128 in $hba"
  log "enabling trust auth for 127.0.0.1/32 and ::1/128 in $hba (backup: $hba.bak)"
  cp -p "$hba" "$hba.bak"
  {
    printf '%s\n' "$marker"
    printf 'host    all    all    127.0.0.1/32    trust\n'
    printf 'host    all    all    ::1/128         trust\n'
    cat "$hba.bak"
  } >"$hba"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
}

# pg_check_trust VERSION FRESH: make sure postgres@127.0.0.1 needs no
# password.  Only a cluster we just installed/created gets its pg_hba.conf
# edited; an existing one is somebody's config, so we only warn.
pg_check_trust() {
  local ver=$1 fresh=$2
  pg_trust_works && return 0
  if [[ "$fresh" -eq 1 ]]; then
    pg_enable_local_trust "$ver"
    wait_until "PostgreSQL trust auth" "$SERVICE_WAIT_SECS" pg_trust_works
  else
    warn "PostgreSQL is up but 'psql -h ${PG_HOST} -U postgres' without a password fails;"
    warn "set PGPASSWORD, or use 'trust' for 127.0.0.1/32 and ::1/128 in /etc/postgresql/${ver:-<ver>}/main/pg_hba.conf"
  fi
}

ensure_postgres() {
  local ver fresh=0

  if pg_answers; then
    # Server is up; the client may still be missing (e.g. remote-only setup).
    command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  else
    if [[ -z "$(pg_installed_version)" ]] || ! command -v pg_ctlcluster >/dev/null 2>&1 ||
      ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
      apt_install postgresql postgresql-client
      fresh=1
    fi

    ver=$(pg_cluster_version)
    if [[ -z "$ver" ]]; then
      ver=$(pg_installed_version)
      [[ -n "$ver" ]] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
      is_root || die "no PostgreSQL cluster configured; as root run: pg_createcluster $ver main"
      log "creating PostgreSQL $ver cluster 'main'"
      pg_createcluster "$ver" main
      fresh=1
    fi

    # apt's postinst may already have started it (or been blocked by
    # policy-rc.d in containers), so check again before starting.
    if ! pg_answers; then
      log "starting postgresql $ver/main"
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start ||
        warn "pg_ctlcluster start failed (see /var/log/postgresql/postgresql-${ver}-main.log)"
    fi
    wait_until "PostgreSQL on ${PG_HOST}:${PG_PORT}" "$SERVICE_WAIT_SECS" pg_answers
  fi

  pg_check_trust "${ver:-$(pg_cluster_version)}" "$fresh"
  log "postgresql: up (${PG_HOST}:${PG_PORT})"
}

# --- Redis -------------------------------------------------------------------

redis_answers() {
  [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

ensure_redis() {
  if command -v redis-cli >/dev/null 2>&1 && redis_answers; then
    log "redis: up (${REDIS_HOST}:${REDIS_PORT})"
    return 0
  fi

  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
  fi

  if ! redis_answers; then
    mkdir -p /var/lib/redis /var/log/redis ||
      die "cannot create /var/lib/redis and /var/log/redis (run as root, or start redis yourself)"
    log "starting redis-server"
    # No persistence: this is a throwaway dev/CI instance.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
      --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log ||
      warn "redis-server failed to start (see /var/log/redis/ci.log)"
  fi
  wait_until "Redis on ${REDIS_HOST}:${REDIS_PORT}" "$SERVICE_WAIT_SECS" redis_answers
  log "redis: up (${REDIS_HOST}:${REDIS_PORT})"
}

# --- RabbitMQ ----------------------------------------------------------------

rabbitmq_answers() {
  tcp_open "$RABBITMQ_HOST" "$RABBITMQ_PORT"
}

ensure_rabbitmq() {
  if rabbitmq_answers; then
    log "rabbitmq: up (${RABBITMQ_HOST}:${RABBITMQ_PORT})"
    return 0
  fi

  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install rabbitmq-server
  fi

  # Re-check: the package's postinst may have started it already.
  if ! rabbitmq_answers; then
    log "starting rabbitmq-server (can take up to ${RABBITMQ_WAIT_SECS}s)"
    rabbitmq-server -detached || warn "rabbitmq-server -detached failed (see /var/log/rabbitmq/)"
  fi
  # Poll the AMQP port rather than `rabbitmqctl await_startup`: the port is
  # what clients need, and it opens last during boot.
  wait_until "RabbitMQ on ${RABBITMQ_HOST}:${RABBITMQ_PORT}" "$RABBITMQ_WAIT_SECS" rabbitmq_answers
  log "rabbitmq: up (${RABBITMQ_HOST}:${RABBITMQ_PORT})"
}

# --- all of them -------------------------------------------------------------

ensure_services() {
  ensure_postgres
  ensure_redis
  ensure_rabbitmq
}

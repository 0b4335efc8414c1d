#!/usr/bin/env bash
# A PostgreSQL server on loopback for the services' databases, from Debian's packages.
#   postgres.sh install | start | stop | status
# Idempotent: start reuses an initialised data directory and a running server.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-innovation}
PG_PASSWORD=${PG_PASSWORD:-innovation}
POSTGRES_URL=${POSTGRES_URL:-postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres}
LOG=$LOG_DIR/postgres.log  # a link to the server's log, which lives beside its data (see start)

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install() {
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/postgres" ] && return 0
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed and only root can install it: apt-get install -y postgresql"
  say "installing PostgreSQL from Debian's packages"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } >"$LOG_DIR/postgres-install.log" 2>&1 \
    || die "could not install PostgreSQL with apt-get; details in $LOG_DIR/postgres-install.log"
  # Debian starts its own cluster on install; it would hold the port we serve on.
  pg_ctlcluster --force "$(basename "$(dirname "$(pg_bin)")")" main stop >/dev/null 2>&1 || true
}

# PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

data_home() {
  local dir=${PG_DATA_HOME:-$RUN_DIR/postgres}
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
    [ -z "${PG_DATA_HOME:-}" ] || die "postgres: the postgres user cannot enter PG_DATA_HOME=$dir; choose a directory it can reach"
    # The checkout sits where the postgres user may not enter: keep the data elsewhere.
    dir=/var/tmp/innovation-postgres-$(printf '%s' "$RUN_DIR" | md5sum | cut -c1-8)
    mkdir -p "$dir"
  fi
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  echo "$dir"
}

answers() { PGCONNECT_TIMEOUT=3 psql "$POSTGRES_URL" -Atqc 'select 1' >/dev/null 2>&1; }

start() {
  install
  local home data bin
  home=$(data_home); data=$home/data; bin=$(pg_bin)
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && answers; then
    say "postgres: already running at 127.0.0.1:$PG_PORT"; return 0
  fi
  if port_open "$PG_PORT"; then
    if answers; then say "postgres: reusing the server already answering at 127.0.0.1:$PG_PORT"; return 0; fi
    require_free_port "$PG_PORT" "PostgreSQL"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    printf '%s\n' "$PG_PASSWORD" >"$home/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres: "$home/pwfile"
    chmod 600 "$home/pwfile"
    as_pg "$bin/initdb" -D "$data" -U "$PG_USER" --pwfile="$home/pwfile" \
      --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/postgres-initdb.log" 2>&1 \
      || die "postgres: initdb failed; read $LOG_DIR/postgres-initdb.log"
    rm -f "$home/pwfile"
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$home'
max_connections = 500
shared_buffers = 256MB
CONF
  fi
  # The server writes its log as the postgres user, who may not enter the checkout: keep it beside the data.
  local server_log=$home/postgres.log output
  touch "$server_log"; [ "$(id -u)" = 0 ] && chown postgres: "$server_log"
  ln -sfn "$server_log" "$LOG"
  say "postgres: starting PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at 127.0.0.1:$PG_PORT; log: $server_log"
  if ! output=$(as_pg "$bin/pg_ctl" -D "$data" -l "$server_log" -w -t 60 start 2>&1); then
    { printf '%s\n' "$output"; tail -n 10 "$server_log"; } | sed 's/^/  postgres: /' >&2 || true
    die "postgres: the server did not start (its words are above); log: $server_log"
  fi
  answers || die "postgres: the server started but refuses connections as $PG_USER at 127.0.0.1:$PG_PORT; read $LOG"
  say "postgres: ready at 127.0.0.1:$PG_PORT"
}

stop() {
  local home data bin
  bin=$(pg_bin); [ -n "$bin" ] || return 0
  home=$(data_home); data=$home/data
  [ -f "$data/PG_VERSION" ] || return 0
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  say "postgres: stopped"
}

status() {
  local home; home=$(data_home)
  if as_pg "$(pg_bin)/pg_ctl" -D "$home/data" status >/dev/null 2>&1; then echo "postgres: running at 127.0.0.1:$PG_PORT"; else echo "postgres: not running"; return 1; fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: postgres.sh install|start|stop|status" ;;
esac

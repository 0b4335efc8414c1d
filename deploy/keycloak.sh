#!/usr/bin/env bash
# Keycloak in development mode on loopback, from its server distribution on Maven Central, with a
# realm per department (KEYCLOAK_REALMS) imported from deploy/keycloak/realms/ (or made from the
# same template, deploy/keycloak/realm.py, for a department without a committed file).
#   keycloak.sh fetch | start | stop | status
# Idempotent: start reuses the unpacked distribution, the data and a running server.
# Development only: the admin password's default, the demo users' passwords and the portal's
# secret are published in this repository.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEYCLOAK_VERSION=${KEYCLOAK_VERSION:-26.5.6}
KEYCLOAK_PORT=${KEYCLOAK_PORT:-8080}
KEYCLOAK_REALMS=${KEYCLOAK_REALMS:-}
KEYCLOAK_HEAP=${KEYCLOAK_HEAP:-512m}
export KC_BOOTSTRAP_ADMIN_USERNAME=${KEYCLOAK_ADMIN_USERNAME:-admin}
export KC_BOOTSTRAP_ADMIN_PASSWORD=${KEYCLOAK_ADMIN_PASSWORD:-admin-dev-only}  # published: development only
DIST=$CACHE_DIR/keycloak-$KEYCLOAK_VERSION
STATE=$RUN_DIR/keycloak
HOME_DIR=$STATE/home  # this server's own home: the distribution's files linked, its own data/
LOG=$LOG_DIR/keycloak.log
URL=http://127.0.0.1:$KEYCLOAK_PORT

fetch() {
  [ -f "$DIST/.complete" ] && return 0
  command -v java >/dev/null || die "java is not installed (Keycloak needs Java 17): apt-get install -y openjdk-17-jre-headless"
  command -v mvn >/dev/null || die "maven is not installed (it fetches Keycloak): apt-get install -y maven"
  command -v unzip >/dev/null || die "unzip is not installed: apt-get install -y unzip"
  say "fetching Keycloak $KEYCLOAK_VERSION from Maven Central into $DIST"
  local zip=$CACHE_DIR/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip
  rm -rf "$DIST" "$zip"
  # KEYCLOAK_MAVEN_SETTINGS (else KAFKA_MAVEN_SETTINGS): a Maven settings file, e.g. naming a mirror of Maven Central.
  local settings=${KEYCLOAK_MAVEN_SETTINGS:-${KAFKA_MAVEN_SETTINGS:-}}
  if ! mvn -B -q ${settings:+-s "$settings"} dependency:copy \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -DoutputDirectory="$CACHE_DIR" \
        >"$LOG_DIR/keycloak-fetch.log" 2>&1; then
    rm -f "$zip"
    die "could not fetch org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip from Maven Central with 'mvn dependency:copy' (is Maven Central reachable?); details in $LOG_DIR/keycloak-fetch.log"
  fi
  (cd "$CACHE_DIR" && unzip -q -o "$zip") || die "could not unpack $zip"
  rm -f "$zip"
  touch "$DIST/.complete"
}

# A home of its own for this run directory's server (kc.sh takes its home from its own path), so
# two servers (make up's and the tests') never share data/: the database, import dir, transaction logs.
make_home() {
  mkdir -p "$HOME_DIR/bin" "$HOME_DIR/data/import"
  cp "$DIST/bin/kc.sh" "$HOME_DIR/bin/kc.sh"
  for part in lib conf providers themes; do ln -sfn "$DIST/$part" "$HOME_DIR/$part"; done
  rm -f "$HOME_DIR/data/import/"*.json
  local dept
  for dept in $KEYCLOAK_REALMS; do
    if [ -f "$ROOT/deploy/keycloak/realms/$dept.json" ]; then
      cp "$ROOT/deploy/keycloak/realms/$dept.json" "$HOME_DIR/data/import/"
    else
      (cd "$ROOT" && "$PYTHON" -m deploy.keycloak.realm --out "$HOME_DIR/data/import" "$dept" >/dev/null) \
        || die "keycloak: could not make the realm of $dept from deploy/keycloak/realm.py"
    fi
  done
}

# The server answers when a realm's discovery document does: the master realm, then each imported one.
answers() {
  local realm
  for realm in master $KEYCLOAK_REALMS; do
    curl -fsS -m 5 "$URL/realms/$realm/.well-known/openid-configuration" >/dev/null 2>&1 || return 1
  done
}

start() {
  local pid
  pid=$(read_pid keycloak)
  if pid_alive "$pid" && answers; then
    say "keycloak: already running (pid $pid) at $URL"; return 0
  fi
  if ! pid_alive "$pid" && port_open "$KEYCLOAK_PORT"; then
    if answers; then say "keycloak: reusing the server already answering at $URL"; return 0; fi
    require_free_port "$KEYCLOAK_PORT" "Keycloak"
  fi
  fetch
  if ! pid_alive "$pid"; then
    make_home
    say "keycloak: starting Keycloak $KEYCLOAK_VERSION (development mode) at $URL; realms: ${KEYCLOAK_REALMS:-none}; log: $LOG"
    cd "$STATE"
    # The pid is kc.sh's, leading its process group; it passes SIGTERM on to its java.
    JAVA_OPTS_KC_HEAP="-Xms64m -Xmx$KEYCLOAK_HEAP" setsid nohup "$HOME_DIR/bin/kc.sh" start-dev \
      --http-host=127.0.0.1 --http-port="$KEYCLOAK_PORT" --hostname="$URL" --import-realm \
      >>"$LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_DIR/keycloak.pid"
  fi
  for _ in $(seq 900); do  # three minutes: the first start on two busy cores takes more than one
    if ! pid_alive "$pid"; then
      rm -f "$PID_DIR/keycloak.pid"
      tail -n 15 "$LOG" >&2 || true
      die "keycloak: the server exited during start-up; read $LOG"
    fi
    port_open "$KEYCLOAK_PORT" && answers && break
    sleep 0.2
  done
  if ! answers; then
    tail -n 15 "$LOG" >&2 || true
    stop_pid keycloak 10
    die "keycloak: the server did not answer at $URL within three minutes; read $LOG"
  fi
  say "keycloak: ready at $URL (admin console $URL/admin/, user $KC_BOOTSTRAP_ADMIN_USERNAME)"
}

stop() {
  local pid; pid=$(read_pid keycloak)
  stop_pid keycloak 30
  # kc.sh passes SIGTERM on to its java; had it been killed instead, its java goes with its process group.
  if [ -n "$pid" ]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  say "keycloak: stopped"
}

status() { server_status keycloak "$URL"; }

case "${1:-start}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: keycloak.sh fetch|start|stop|status" ;;
esac

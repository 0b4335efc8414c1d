#!/usr/bin/env bash
# Starts the whole system on this machine, as the contract's local-run table lays it out:
# Kafka, PostgreSQL, Keycloak (a realm per demo department), two demo departments' services, the
# central reporting service and the departmental-system simulators. Idempotent: what already runs is left as it is.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEPARTMENTS=${INNOVATION_DEMO_DEPARTMENTS:-"dwp hmrc"}
PORT_BASE=${INNOVATION_PORT_BASE:-8000}  # reporting; the n-th department's services at +10n+1..3
export SMTP_SINK_SMTP_PORT=${SMTP_SINK_SMTP_PORT:-1025} SMTP_SINK_HTTP_PORT=${SMTP_SINK_HTTP_PORT:-8025}
export NOTIFICATIONS_SMTP_PORT=$SMTP_SINK_SMTP_PORT
export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-9092}}
# The identity provider: a realm per demo department, its issuer given to the department's services.
export KEYCLOAK_PORT=${KEYCLOAK_PORT:-8080} KEYCLOAK_REALMS=$DEPARTMENTS
KEYCLOAK_URL=http://127.0.0.1:$KEYCLOAK_PORT
# Departmental systems of three more departments emit events straight onto Kafka (deploy/simulator.py).
SIMULATED=${INNOVATION_SIMULATED_DEPARTMENTS:-home-office,defra,natural-england}
[ "${INNOVATION_SIMULATOR:-on}" = on ] || SIMULATED=
export REPORTING_SIMULATED_DEPARTMENTS=$SIMULATED  # named as simulated on the dashboard
# The first demo department, which runs the services, also has a system of its own (a team-conversation
# tool, simulated) emitting onto its intake, innovation.<dept>.inbound.ideas.v1, for its ideas service.
INTAKE=${DEPARTMENTS%% *}
[ "${INNOVATION_SIMULATOR:-on}" = on ] || INTAKE=
# A development machine: the services accept the local server's password and the demo secrets.
export INNOVATION_DEVELOPMENT_MODE=1

started_servers=()  # kafka, postgres, keycloak: started by this run
launched=()  # the processes this run started
# A start-up that fails part-way stops what this run started, and says so.
undo_on_failure() {
  local code=$?
  [ "$code" = 0 ] && return
  for name in "${launched[@]}"; do stop_pid "$name" 10; say "stopped $name (this run started it)"; done
  for server in "${started_servers[@]}"; do bash "$ROOT/deploy/$server.sh" stop; done
  say "make up failed; what it had started is stopped again"
  exit "$code"
}
trap undo_on_failure EXIT

bash "$ROOT/deploy/install.sh"
for server in kafka postgres keycloak; do
  bash "$ROOT/deploy/$server.sh" status >/dev/null 2>&1 || started_servers+=("$server")
  bash "$ROOT/deploy/$server.sh" start
done
(cd "$ROOT" && "$PYTHON" deploy/bootstrap.py --departments $DEPARTMENTS --keys "$RUN_DIR/demo-keys.json") \
  >"$LOG_DIR/bootstrap.log" 2>&1 || die "creating topics and demo keys failed; read $LOG_DIR/bootstrap.log"
(cd "$ROOT" && "$PYTHON" -m deploy.keycloak.realm --users $DEPARTMENTS) >"$RUN_DIR/demo-users.json" \
  || die "writing the demo accounts to $RUN_DIR/demo-users.json failed"

# start_process <name> <port or -> <command...>: runs it detached, logs to .run/logs/<name>.log
start_process() {
  local name=$1 port=$2; shift 2
  local pid; pid=$(read_pid "$name")
  if pid_alive "$pid"; then return 0; fi
  [ "$port" = - ] || require_free_port "$port" "$name"
  cd "$ROOT"
  setsid nohup "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$PID_DIR/$name.pid"
  launched+=("$name")
}

wait_ready() {
  local name=$1 port=$2 pid
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    pid=$(read_pid "$name")
    if ! pid_alive "$pid"; then
      tail -n 5 "$LOG_DIR/$name.log" >&2 || true
      die "$name exited during start-up; read $LOG_DIR/$name.log"
    fi
    sleep 0.2
  done
  die "$name did not become ready on port $port within a minute; read $LOG_DIR/$name.log"
}

declare -A PORTS=([ideas]=1 [experiments]=2 [notifications]=3)
started=()
start_process smtp-sink "$SMTP_SINK_SMTP_PORT" "$PYTHON" deploy/smtp_sink.py
start_process reporting "$PORT_BASE" env HTTP_PORT="$PORT_BASE" "$PYTHON" -m services.reporting
started+=("reporting:$PORT_BASE")
offset=0
for dept in $DEPARTMENTS; do
  for service in ideas experiments notifications; do
    port=$((PORT_BASE + offset + PORTS[$service]))
    start_process "$service-$dept" "$port" env INNOVATION_DEPARTMENT="$dept" HTTP_PORT="$port" \
      OIDC_ISSUER="$KEYCLOAK_URL/realms/$dept" OIDC_AUDIENCE=innovation-api REPORTING_URL="http://127.0.0.1:$PORT_BASE" \
      NOTIFICATIONS_PORTAL_URL="http://127.0.0.1:$((PORT_BASE + offset + 4))" \
      NOTIFICATIONS_PUBLIC_URL="http://127.0.0.1:$((PORT_BASE + offset + 3))" \
      INNOVATION_PSEUDONYM_SECRET="${INNOVATION_PSEUDONYM_SECRET:-demo-secret-$dept}" "$PYTHON" -m "services.$service"
    started+=("$service-$dept:$port")
  done
  port=$((PORT_BASE + offset + 4))  # the department's web portal, over its three APIs
  start_process "portal-$dept" "$port" env INNOVATION_DEPARTMENT="$dept" HTTP_PORT="$port" \
    INNOVATION_PSEUDONYM_SECRET="${INNOVATION_PSEUDONYM_SECRET:-demo-secret-$dept}" \
    PORTAL_PUBLIC_URL="http://127.0.0.1:$port" OIDC_ISSUER="$KEYCLOAK_URL/realms/$dept" \
    OIDC_CLIENT_ID=portal OIDC_CLIENT_SECRET=portal-dev-secret \
    IDEAS_API_URL="http://127.0.0.1:$((PORT_BASE + offset + 1))" \
    EXPERIMENTS_API_URL="http://127.0.0.1:$((PORT_BASE + offset + 2))" \
    NOTIFICATIONS_API_URL="http://127.0.0.1:$((PORT_BASE + offset + 3))" \
    REPORTING_URL="http://127.0.0.1:$PORT_BASE" "$PYTHON" -m services.portal
  started+=("portal-$dept:$port")
  offset=$((offset + 10))
done
for entry in "${started[@]}"; do wait_ready "${entry%%:*}" "${entry##*:}"; done

if [ -n "$SIMULATED" ]; then
  start_process simulator - "$PYTHON" deploy/simulator.py --departments "$SIMULATED" \
    --rate "${INNOVATION_SIMULATOR_RATE:-5}" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS"
fi
if [ -n "$INTAKE" ]; then
  start_process "intake-simulator-$INTAKE" - "$PYTHON" deploy/simulator.py --intake "$INTAKE" \
    --rate "${INNOVATION_INTAKE_RATE:-0.5}" --bootstrap "$KAFKA_BOOTSTRAP_SERVERS"
fi

first=${DEPARTMENTS%% *}
{
  echo
  echo "The innovation network is running."
  echo "  dashboard (central reporting)   http://127.0.0.1:$PORT_BASE/"
  offset=0
  for dept in $DEPARTMENTS; do
    printf '  %-6s portal http://127.0.0.1:%s/  (APIs: ideas :%s  experiments :%s  notifications :%s)\n' "$dept:" \
      $((PORT_BASE + offset + 4)) $((PORT_BASE + offset + 1)) $((PORT_BASE + offset + 2)) $((PORT_BASE + offset + 3))
    offset=$((offset + 10))
  done
  [ -z "$SIMULATED" ] || printf '  simulated (demo data from a simulator, no services): %s\n' "${SIMULATED//,/, }"
  [ -z "$INTAKE" ] || printf '  %s team-conversation tool (simulated) emits onto innovation.%s.inbound.ideas.v1\n' "$INTAKE's" "$INTAKE"
  cat <<MSG
  API docs                        http://127.0.0.1:$((PORT_BASE + 1))/docs (each service: /docs, /openapi.json)
  emails (SMTP sink)              http://127.0.0.1:$SMTP_SINK_HTTP_PORT/  (SMTP on :$SMTP_SINK_SMTP_PORT)
  demo API keys                   $RUN_DIR/demo-keys.json
  sign in to a portal             with a demo account from $RUN_DIR/demo-users.json (Keycloak: $KEYCLOAK_URL/realms/$first/account/)
                                  (admin console $KEYCLOAK_URL/admin/, development only)
  logs                            $LOG_DIR/
  Kafka $KAFKA_BOOTSTRAP_SERVERS, PostgreSQL 127.0.0.1:${PG_PORT:-5432} (innovation/innovation)
Try:  curl -H "Authorization: Bearer \$(jq -r .$first.contributor $RUN_DIR/demo-keys.json)" -H 'X-Person-Ref: me' \\
        -H 'Content-Type: application/json' -d '{"title":"Fewer forms","problem":"...","proposal":"..."}' http://127.0.0.1:$((PORT_BASE + 1))/v1/ideas
Stop everything with: make down
MSG
}

#!/usr/bin/env bash
# Stops everything `make up` started: services first, then Keycloak, Kafka and PostgreSQL.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for pidfile in "$PID_DIR"/*.pid; do
  [ -f "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  [ "$name" = kafka ] || [ "$name" = keycloak ] && continue
  stop_pid "$name" 30
  say "$name: stopped"
done
bash "$ROOT/deploy/keycloak.sh" stop
bash "$ROOT/deploy/kafka.sh" stop
bash "$ROOT/deploy/postgres.sh" stop

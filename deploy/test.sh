#!/usr/bin/env bash
# Installs everything the tests need, makes sure Kafka and PostgreSQL run, and runs every test.
# A broker or database that was already running is reused and left running; what this
# script started, it stops at the end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$ROOT/deploy/install.sh" --test
started=()
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  bash "$ROOT/deploy/kafka.sh" status >/dev/null 2>&1 || started+=(kafka)
  bash "$ROOT/deploy/kafka.sh" start
fi
if [ -z "${POSTGRES_URL:-}" ]; then
  bash "$ROOT/deploy/postgres.sh" status >/dev/null 2>&1 || started+=(postgres)
  bash "$ROOT/deploy/postgres.sh" start
fi
cleanup() { for what in "${started[@]}"; do bash "$ROOT/deploy/$what.sh" stop; done; }
trap cleanup EXIT

cd "$ROOT"
export INNOVATION_DEVELOPMENT_MODE=1  # the local server's password and demo secrets are allowed here
"$VENV/bin/pytest" "$@"

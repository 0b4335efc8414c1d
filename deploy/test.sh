#!/usr/bin/env bash
# Installs everything the tests need and runs every test. The tests use a Kafka broker and a
# PostgreSQL server of their own (ports 19092 and 15432, run directory .run/test), started by the
# test session and stopped at its end (tests/support/infra.py), so a `make up` beside them is
# neither used nor disturbed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$ROOT/deploy/install.sh" --test
cd "$ROOT"
export INNOVATION_DEVELOPMENT_MODE=1  # the local server's password and demo secrets are allowed here
"$VENV/bin/pytest" "$@"

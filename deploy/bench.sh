#!/usr/bin/env bash
# `make bench`: every benchmark on a Kafka broker and a PostgreSQL server of its own, then one table.
# The servers listen on ports of their own (BENCH_KAFKA_PORT, BENCH_PG_PORT) in a run directory of
# their own, so a running `make up` neither consumes the benchmarks' events nor shares their database;
# both are stopped and their data deleted at the end. Run it on a quiet machine: the figures are only
# as good as the cores they get.
#   bench.sh                    every benchmark
#   bench.sh ideas freshness    only these (benchmarks/bench_<name>.py)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$ROOT/deploy/install.sh" --bench
cd "$ROOT"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(decode ideas reporting freshness)
for name in "${names[@]}"; do
  [ -f "benchmarks/bench_$name.py" ] || die "no benchmark benchmarks/bench_$name.py"
done

BENCH_DIR=$(mktemp -d /var/tmp/innovation-bench.XXXXXX)
chmod 755 "$BENCH_DIR"  # as root, PostgreSQL runs as the postgres user, which must enter it
export INNOVATION_RUN_DIR=$BENCH_DIR PG_DATA_HOME=$BENCH_DIR/postgres
export KAFKA_PORT=${BENCH_KAFKA_PORT:-17092} KAFKA_CONTROLLER_PORT=${BENCH_KAFKA_CONTROLLER_PORT:-17093}
export PG_PORT=${BENCH_PG_PORT:-17432}
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export POSTGRES_URL=postgresql://innovation:innovation@127.0.0.1:$PG_PORT/postgres
export BENCH_RESULTS=$BENCH_DIR/figures.jsonl
export INNOVATION_DEVELOPMENT_MODE=1  # the local server's password and demo secrets are allowed here
ok=0

finish() {
  bash "$ROOT/deploy/kafka.sh" stop >/dev/null 2>&1 || true
  bash "$ROOT/deploy/postgres.sh" stop >/dev/null 2>&1 || true
  if [ "$ok" = 1 ]; then rm -rf "$BENCH_DIR"; else say "bench: servers stopped; their logs are kept in $BENCH_DIR/logs"; fi
}
trap finish EXIT

for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$PG_PORT"; do
  port_open "$port" && die "port $port is taken; choose others with BENCH_KAFKA_PORT, BENCH_KAFKA_CONTROLLER_PORT, BENCH_PG_PORT"
done
bash "$ROOT/deploy/kafka.sh" start
bash "$ROOT/deploy/postgres.sh" start
say "bench: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) before the first benchmark"

for name in "${names[@]}"; do
  say "== benchmarks/bench_$name.py"
  "$PYTHON" "benchmarks/bench_$name.py" || die "benchmarks/bench_$name.py failed"
done
"$PYTHON" benchmarks/table.py "$BENCH_RESULTS"
ok=1

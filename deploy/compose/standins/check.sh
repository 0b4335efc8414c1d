#!/usr/bin/env bash
# Smoke checks of the stand-in images with plain `docker run` (no compose), each on the interface
# the compose file and the Dockerfile rely on. Builds them first (build.sh; cached).
#   check.sh [name...]     names: python node kafka postgres mailpit (default: all)
# Every container, network and volume it makes is named innovation-standin-check-<pid>-* and
# removed at the end, whatever happened. Prints "check: <name>: ..." per check; exit 1 on the first
# failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TAG=innovation-standin-check-$$
NET=$TAG-net
ALL="python node kafka postgres mailpit"
PYTHON=${PYTHON:-python3}

say() { printf 'check: %s\n' "$*" >&2; }
fail() { printf 'check: FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local ids
  ids=$(docker ps -aq --filter "name=^$TAG-" 2>/dev/null || true)
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  docker volume ls -q --filter "name=^$TAG-" | xargs -r docker volume rm >/dev/null 2>&1 || true
}
trap cleanup EXIT

# until <seconds> <command...>: retries once a second
until_ok() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

network() { docker network inspect "$NET" >/dev/null 2>&1 || docker network create "$NET" >/dev/null; }

check_python() {
  local image=$1 out
  out=$(docker run --rm "$image" python -c 'import sys; print(sys.version)')
  [[ $out == 3.11.* ]] || fail "python: python -c sys.version gave '$out'"
  say "python: python is $out"
  out=$(docker run --rm "$image" pip --version)
  [[ $out == *"(python 3.11)"* ]] || fail "python: pip --version gave '$out'"
  say "python: $out"
  docker run --rm "$image" sh -c 'useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin innovation && id innovation' >/dev/null \
    || fail "python: useradd did not work"
  # The app image's RUN, on the project itself: pip install . (from PyPI, over TLS), then import it.
  docker run --rm -v "$ROOT/pyproject.toml:/src/pyproject.toml:ro" -v "$ROOT/README.md:/src/README.md:ro" \
    -v "$ROOT/shared:/src/shared:ro" -v "$ROOT/services:/src/services:ro" -e PIP_NO_CACHE_DIR=1 "$image" \
    sh -c 'cp -r /src /app && cd /app && pip install -q . && cd / && python -c "import services.reporting, asyncpg, uvloop; print(\"imported\")"' \
    | grep -x imported >/dev/null || fail "python: pip install . of the project and importing it did not work"
  say "python: pip install . of the project works and services.reporting imports"
}

check_node() {
  local image=$1 out
  out=$(docker run --rm "$image" sh -c 'node --version && npm --version' | tr '\n' ' ')
  say "node: node and npm: $out"
  docker run --rm -v "$ROOT/services/reporting/frontend:/src:ro" "$image" sh -c \
    'mkdir /frontend && cp /src/package.json /src/package-lock.json /frontend/ && cd /frontend &&
     npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null && test -f node_modules/govuk-frontend/dist/govuk/all.bundle.js -o -d node_modules/govuk-frontend/dist/govuk' \
    || fail "node: npm ci of the dashboard's front-end did not work"
  say "node: npm ci of services/reporting/frontend works"
}

check_kafka() {
  local image=$1 tool out name=$TAG-kafka password=standin-check-admin-1 props
  # One container runs every wrapper: kafka-storage.sh random-uuid, --version (4.1.1) where the
  # tool has it, --help (its usage) for the argparse4j ones.
  out=$(docker run --rm -e KAFKA_HEAP_OPTS=-Xmx64m "$image" bash -c '
    cd /opt/kafka/bin
    [[ $(./kafka-storage.sh random-uuid 2>&1) =~ ^[A-Za-z0-9_-]{22}$ ]] || echo "kafka-storage.sh random-uuid gave no cluster id"
    for tool in kafka-topics kafka-configs kafka-acls kafka-broker-api-versions kafka-console-producer \
        kafka-console-consumer kafka-consumer-groups kafka-get-offsets kafka-log-dirs kafka-delete-records \
        kafka-leader-election kafka-server-start kafka-consumer-perf-test; do
      ./$tool.sh --version 2>&1 | grep -qx "4\.1\.1" || echo "$tool.sh --version did not print 4.1.1"
    done
    for tool in kafka-metadata-quorum:kafka-metadata-quorum kafka-features:kafka-features kafka-cluster:kafka-cluster \
        kafka-producer-perf-test:producer-performance; do
      [[ $(./${tool%%:*}.sh --help 2>&1) == "usage: ${tool#*:} "* ]] || echo "${tool%%:*}.sh --help did not print its usage"
    done' 2>&1)
  [ -z "$out" ] || fail "kafka: $out"
  say "kafka: kafka-storage.sh random-uuid works; every other /opt/kafka/bin wrapper runs (--version: 4.1.1, or --help)"
  network
  docker volume create "$TAG-kafka-data" >/dev/null
  docker run -d --name "$name" --network "$NET" --network-alias kafka \
    -e KAFKA_ADMIN_PASSWORD=$password -e KAFKA_ADVERTISED=kafka:9092 -e "KAFKA_HEAP_OPTS=-Xms256m -Xmx512m" \
    -v "$ROOT/deploy/compose/kafka-server.sh:/opt/innovation/kafka-server.sh:ro" -v "$TAG-kafka-data:/var/lib/kafka/data" \
    "$image" bash /opt/innovation/kafka-server.sh >/dev/null
  until_ok 120 docker exec -e KAFKA_HEAP_OPTS=-Xmx128m "$name" /opt/kafka/bin/kafka-broker-api-versions.sh \
      --bootstrap-server 127.0.0.1:9092 --command-config /tmp/innovation-kafka/admin.properties \
    || { docker logs --tail 30 "$name" >&2; fail "kafka: the broker did not answer the admin within 120 s"; }
  say "kafka: kafka-server.sh started the broker; kafka-broker-api-versions.sh answers as the admin (the healthcheck's command)"
  # From another container, as compose's init does: topics, a user, an ACL; a wrong password refused.
  props="security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"PASSWORD\";"
  docker run --rm --network "$NET" -e "PROPS=${props/PASSWORD/$password}" "$image" bash -c '
      set -e; printf "%s\n" "$PROPS" >/tmp/admin.properties; b="--bootstrap-server kafka:9092 --command-config /tmp/admin.properties"
      /opt/kafka/bin/kafka-topics.sh $b --create --topic standin.check --partitions 2 --replication-factor 1 >/dev/null
      /opt/kafka/bin/kafka-configs.sh $b --alter --entity-type users --entity-name checker --add-config "SCRAM-SHA-512=[iterations=8192,password=checker-password-1]" >/dev/null
      /opt/kafka/bin/kafka-acls.sh $b --add --allow-principal User:checker --topic standin.check --operation Read >/dev/null
      /opt/kafka/bin/kafka-topics.sh $b --describe --topic standin.check | grep -q "PartitionCount: 2"
      /opt/kafka/bin/kafka-acls.sh $b --list --topic standin.check | grep -q "User:checker"' \
    || fail "kafka: kafka-topics/kafka-configs/kafka-acls from another container did not work"
  say "kafka: kafka-topics.sh, kafka-configs.sh (a SCRAM user) and kafka-acls.sh work from another container"
  if docker run --rm --network "$NET" -e "PROPS=${props/PASSWORD/wrong-password-1}" "$image" bash -c '
      printf "%s\n" "$PROPS" >/tmp/admin.properties
      printf "request.timeout.ms=5000\ndefault.api.timeout.ms=8000\n" >>/tmp/admin.properties
      /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:9092 --command-config /tmp/admin.properties --list' >/dev/null 2>&1; then
    fail "kafka: a wrong admin password was accepted"
  fi
  say "kafka: a wrong password is refused"
  docker stop -t 60 "$name" >/dev/null
  [[ $(docker logs "$name" 2>&1) == *"shut down completed"* ]] \
    || { docker logs --tail 20 "$name" >&2; fail "kafka: docker stop did not shut the broker down cleanly"; }
  say "kafka: docker stop shuts the broker down cleanly"
}

check_postgres() {
  local image=$1 name=$TAG-postgres password=standin-check-pg-1 out
  network
  docker volume create "$TAG-pg-data" >/dev/null
  docker run -d --name "$name" --network "$NET" --network-alias postgres \
    -e POSTGRES_USER=innovation -e POSTGRES_PASSWORD=$password \
    -v "$ROOT/deploy/compose/postgres-init.sql:/docker-entrypoint-initdb.d/10-databases.sql:ro" \
    -v "$TAG-pg-data:/var/lib/postgresql/data" "$image" >/dev/null
  until_ok 90 docker exec "$name" pg_isready -h 127.0.0.1 -p 5432 -U innovation -d postgres \
    || { docker logs --tail 30 "$name" >&2; fail "postgres: pg_isready over TCP did not answer within 90 s"; }
  say "postgres: initdb on first start, pg_isready answers on 127.0.0.1:5432"
  out=$(docker run --rm --network "$NET" -e PGPASSWORD=$password "$image" \
    psql -h postgres -U innovation -d reporting -Atc "select current_user, (select string_agg(datname, ',' order by datname) from pg_database where datname like '%_dwp')")
  [ "$out" = "innovation|experiments_dwp,ideas_dwp,notifications_dwp" ] || fail "postgres: from another container got '$out'"
  say "postgres: another container connects with the password; the init SQL made the databases"
  out=$(docker exec "$name" psql -U innovation -d postgres -Atc "select rolpassword like 'SCRAM-SHA-256%' from pg_authid where rolname = 'innovation'; show listen_addresses")
  [ "$out" = $'t\n*' ] || fail "postgres: password not stored as scram-sha-256 or not listening on * ('$out')"
  [ "$(docker exec "$name" stat -c %U /proc/1)" = postgres ] || fail "postgres: the server (pid 1) does not run as postgres"
  if docker run --rm --network "$NET" -e PGPASSWORD=wrong-password "$image" psql -h postgres -U innovation -d postgres -c 'select 1' >/dev/null 2>&1; then
    fail "postgres: a wrong password was accepted"
  fi
  if docker run --rm --network "$NET" "$image" psql -h postgres -U innovation -d postgres -w -c 'select 1' >/dev/null 2>&1; then
    fail "postgres: a connection without a password was accepted"
  fi
  say "postgres: scram-sha-256, on *:5432 as postgres; a wrong or missing password is refused"
  docker stop "$name" >/dev/null
  [[ $(docker logs "$name" 2>&1) == *"database system is shut down"* ]] || fail "postgres: docker stop did not shut down cleanly"
  docker start "$name" >/dev/null
  until_ok 60 docker exec "$name" pg_isready -h 127.0.0.1 -p 5432 -U innovation \
    || fail "postgres: did not come back after a restart"
  [ "$(docker logs "$name" 2>&1 | grep -c 'running /docker-entrypoint-initdb.d/10-databases.sql')" = 1 ] \
    || fail "postgres: the init SQL ran again on a restart"
  docker kill -s TERM "$name" >/dev/null  # a smart shutdown: no client is connected
  [ "$(docker wait "$name")" = 0 ] || fail "postgres: SIGTERM did not end the server with exit 0"
  out=$(docker logs "$name" 2>&1)
  [[ $out == *"received smart shutdown request"* && $(tail -n 1 <<<"$out") == *"database system is shut down" ]] \
    || fail "postgres: SIGTERM did not shut down cleanly"
  docker rm -f "$name" >/dev/null
  out=$(docker run --rm "$image" 2>&1 || true)
  [[ $out == *"no superuser password"* ]] || fail "postgres: starting without POSTGRES_PASSWORD did not refuse ('$out')"
  say "postgres: clean shutdown on docker stop (SIGINT) and on SIGTERM, init once only, no start without a password"
}

check_mailpit() {
  local image=$1 name=$TAG-mailpit smtp http
  docker run -d --name "$name" -p 127.0.0.1::1025 -p 127.0.0.1::8025 "$image" >/dev/null
  until_ok 30 docker exec "$name" /mailpit readyz || { docker logs "$name" >&2; fail "mailpit: /mailpit readyz did not pass within 30 s"; }
  say "mailpit: /mailpit readyz passes"
  smtp=$(docker port "$name" 1025/tcp | head -1); http=$(docker port "$name" 8025/tcp | head -1)
  "$PYTHON" - "$smtp" "$http" <<'PY' || fail "mailpit: a message sent from the host was not listed on 8025"
import json, smtplib, sys, urllib.request
from email.message import EmailMessage
smtp_host, smtp_port = sys.argv[1].rsplit(":", 1)
message = EmailMessage()
message["From"], message["To"], message["Subject"] = "check@example.test", "someone@example.test", "stand-in check"
message.set_content("hello from the host")
with smtplib.SMTP(smtp_host, int(smtp_port), timeout=10) as client:
    client.send_message(message)
with urllib.request.urlopen(f"http://{sys.argv[2]}/api/messages", timeout=10) as response:
    listed = json.load(response)["messages"]
assert [m["subject"] for m in listed] == ["stand-in check"], listed
assert listed[0]["text"].strip() == "hello from the host", listed
with urllib.request.urlopen(f"http://{sys.argv[2]}/", timeout=10) as response:
    assert b"stand-in check" in response.read()
PY
  say "mailpit: a message sent from the host over SMTP is listed on 8025 (/api/messages and the page)"
  docker exec "$name" /mailpit frobnicate >/dev/null 2>&1 && fail "mailpit: /mailpit accepted an unknown command"
  docker stop "$name" >/dev/null
  if docker run --rm --entrypoint /mailpit "$image" readyz >/dev/null 2>&1; then
    fail "mailpit: readyz passed with nothing running"
  fi
  say "mailpit: readyz fails when nothing listens; an unknown command is refused"
}

names=${*:-$ALL}
declare -A images=()
while IFS='=' read -r key image; do
  case $key in
    PYTHON_IMAGE) images[python]=$image ;; NODE_IMAGE) images[node]=$image ;; KAFKA_IMAGE) images[kafka]=$image ;;
    POSTGRES_IMAGE) images[postgres]=$image ;; MAILPIT_IMAGE) images[mailpit]=$image ;;
  esac
done < <(bash "$HERE/build.sh" $names)
for name in $names; do
  started=$SECONDS
  "check_$name" "${images[$name]}"
  say "$name: passed in $((SECONDS - started)) s"
done
say "all passed: $names"

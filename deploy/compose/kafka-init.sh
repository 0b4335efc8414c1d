#!/usr/bin/env bash
# One-shot, idempotent set-up of Kafka for the innovation network, run as the admin:
#   - every department's canonical streams (innovation.<dept>.<stream>.v1), their intake topics
#     (innovation.<dept>.inbound.<stream>.v1) and the dead-letter topics (innovation.dlq.<consuming
#     service>), retention unlimited;
#   - a SCRAM-SHA-512 user per department service (<dept>-ideas, <dept>-experiments,
#     <dept>-notifications), one per department for its own systems (<dept>-systems) and one for
#     the central reporting service (reporting);
#   - the ACLs that keep departments apart and give every canonical stream exactly one writer, its
#     owning service; a department's systems write only its intake (deploy/README.md, "Who may do
#     what on Kafka").
# Adding a department: run it again with the department in INNOVATION_DEPARTMENTS (and its
# principals' passwords in the environment); what exists already is left as it is. It may be run
# with the new department alone: the departments set up before are found by their intake topics
# and get the same cross-department grants (each other's outcomes) as if they had been listed,
# and their principals' passwords are neither needed nor touched.
#
# Env: KAFKA_BOOTSTRAP (kafka:9092), KAFKA_ADMIN_USER (admin), KAFKA_ADMIN_PASSWORD (required),
#      INNOVATION_DEPARTMENTS ("dwp hmrc"), KAFKA_PARTITIONS (6), KAFKA_REPLICATION (1),
#      KAFKA_PASSWORD_<PRINCIPAL> per principal, upper case with - as _:
#      KAFKA_PASSWORD_DWP_IDEAS, ..., KAFKA_PASSWORD_DWP_SYSTEMS, KAFKA_PASSWORD_REPORTING.
#      KAFKA_BIN (/opt/kafka/bin), KAFKA_INIT_WAIT_SECONDS (180: how long to wait for the broker),
#      KAFKA_INIT_PARALLEL (3: how many of Kafka's tools run at once; each is a JVM's start).
set -euo pipefail

BIN=${KAFKA_BIN:-/opt/kafka/bin}
BOOTSTRAP=${KAFKA_BOOTSTRAP:-kafka:9092}
ADMIN_USER=${KAFKA_ADMIN_USER:-admin}
ADMIN_PASSWORD=${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is required}
DEPARTMENTS=${INNOVATION_DEPARTMENTS:-dwp hmrc}
PARTITIONS=${KAFKA_PARTITIONS:-6}
REPLICATION=${KAFKA_REPLICATION:-1}
STREAMS="ideas experiments outcomes"
DEPARTMENT_SERVICES="ideas experiments notifications"
CONSUMING_SERVICES="ideas experiments notifications reporting"  # each dead-letters to innovation.dlq.<service>
# The one writer of each canonical stream (its intake is read by the same service).
declare -A OWNER=([ideas]=ideas [experiments]=experiments [outcomes]=experiments)
REPORTING_USER=reporting
REPORTING_GROUP=${REPORTING_GROUP_ID:-reporting}

fail() { echo "kafka-init: $*" >&2; exit 2; }

for dept in $DEPARTMENTS; do
  [[ $dept =~ ^[a-z][a-z0-9-]{1,30}$ ]] || fail "department code '$dept' must match ^[a-z][a-z0-9-]{1,30}\$"
done

password_of() {  # password_of <principal>: from KAFKA_PASSWORD_<PRINCIPAL>
  local var="KAFKA_PASSWORD_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  local value=${!var:-}
  [ -n "$value" ] || fail "$var is not set (the SCRAM password of principal $1)"
  [[ $value =~ ^[A-Za-z0-9._~-]{12,128}$ ]] || fail "$var must be 12-128 characters of A-Z a-z 0-9 . _ ~ -"
  echo "$value"
}

# Every password is checked before the cluster is touched: no half-done set-up.
for dept in $DEPARTMENTS; do
  for service in $DEPARTMENT_SERVICES systems; do password_of "$dept-$service" >/dev/null; done
done
password_of "$REPORTING_USER" >/dev/null

admin_config=$(mktemp)
trap 'rm -f "$admin_config"' EXIT
cat >"$admin_config" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$ADMIN_PASSWORD";
PROPS

# Kafka's tools run a few at a time: each is mostly a JVM starting. Any that fails stops the run.
PARALLEL=${KAFKA_INIT_PARALLEL:-3}
[[ $PARALLEL =~ ^[1-9][0-9]?$ ]] || fail "KAFKA_INIT_PARALLEL must be a number from 1 to 99"
running=0
in_background() {
  "$@" &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then
    wait -n || fail "a Kafka command failed (its output is above); run it again when the cause is fixed"
    running=$((running - 1))
  fi
}
settle() {
  while [ "$running" -gt 0 ]; do
    wait -n || fail "a Kafka command failed (its output is above); run it again when the cause is fixed"
    running=$((running - 1))
  done
}

kafka_topics() { "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$admin_config" "$@"; }
kafka_configs() { "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$admin_config" "$@"; }
kafka_acls() { "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$admin_config" "$@"; }

create_topic() {
  in_background kafka_topics --create --if-not-exists --topic "$1" --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
    --config retention.ms=-1 --config retention.bytes=-1
}

scram_user() {  # scram_user <principal>
  in_background kafka_configs --alter --entity-type users --entity-name "$1" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$(password_of "$1")]"
}

# allow|deny <principal> <literal|prefixed> <topic|group> <name> <operation>...
acl() {
  local verdict=$1 principal=$2 pattern=$3 kind=$4 name=$5; shift 5
  local operations=()
  for op in "$@"; do operations+=(--operation "$op"); done
  in_background kafka_acls --add "--$verdict-principal" "User:$principal" --resource-pattern-type "$pattern" "--$kind" "$name" "${operations[@]}"
}
allow() { acl allow "$@"; }
deny() { acl deny "$@"; }

# Wait for the broker (run by hand, it may be restarting) and read the topics it has. The tools
# print their errors on stdout or stderr, depending on the image's logging set-up: both are read.
probe_config=$(mktemp) probe_output=$(mktemp)
trap 'rm -f "$admin_config" "$probe_config" "$probe_output"' EXIT
cp "$admin_config" "$probe_config"
printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n' >>"$probe_config"
deadline=$((SECONDS + ${KAFKA_INIT_WAIT_SECONDS:-180}))
until "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$probe_config" --list >"$probe_output" 2>&1; do
  ! grep -qE 'SaslAuthenticationException|Authentication failed' "$probe_output" \
    || fail "Kafka at $BOOTSTRAP refused the admin's password (KAFKA_ADMIN_PASSWORD)"
  [ "$SECONDS" -lt "$deadline" ] || fail "Kafka at $BOOTSTRAP did not answer the admin in ${KAFKA_INIT_WAIT_SECONDS:-180} s; last error: $(grep -m1 -iE 'error|exception' "$probe_output" || tail -n1 "$probe_output")"
  echo "kafka-init: waiting for Kafka at $BOOTSTRAP"
  sleep 3
done
# Every department this script has set up (it has intake topics), listed now or before.
KNOWN=$(printf '%s\n' $DEPARTMENTS $(sed -nE 's/^innovation\.([a-z][a-z0-9-]{1,30})\.inbound\.outcomes\.v1$/\1/p' "$probe_output") | sort -u | tr '\n' ' ')
listed() { [[ " $DEPARTMENTS " == *" $1 "* ]]; }

# Reporting's denials first, so that it never sees an intake topic, not even while one is made.
echo "kafka-init: reporting's denials"
deny "$REPORTING_USER" prefixed topic "innovation.dlq." Read
for dept in $DEPARTMENTS; do deny "$REPORTING_USER" prefixed topic "innovation.$dept.inbound." Read Describe; done
settle

echo "kafka-init: topics"
for dept in $DEPARTMENTS; do
  for stream in $STREAMS; do
    create_topic "innovation.$dept.$stream.v1"
    create_topic "innovation.$dept.inbound.$stream.v1"
  done
done
for service in $CONSUMING_SERVICES; do create_topic "innovation.dlq.$service"; done

echo "kafka-init: users and ACLs"
for dept in $DEPARTMENTS; do
  for service in $DEPARTMENT_SERVICES; do
    principal="$dept-$service"
    scram_user "$principal"
    # Its own consumer groups: <service>.<dept> and <service>.<dept>.<anything>; its dead letters.
    allow "$principal" literal group "$service.$dept" Read
    allow "$principal" prefixed group "$service.$dept." Read
    allow "$principal" literal topic "innovation.dlq.$service" Write
  done
  # Each canonical stream has one writer, the service that owns it; that service alone reads the
  # stream's intake, where the department's other systems emit.
  for stream in $STREAMS; do
    owner="$dept-${OWNER[$stream]}"
    allow "$owner" literal topic "innovation.$dept.$stream.v1" Write Describe
    allow "$owner" literal topic "innovation.$dept.inbound.$stream.v1" Read Describe
  done
  # experiments opens experiments from ideas; notifications reads all three streams.
  allow "$dept-experiments" literal topic "innovation.$dept.ideas.v1" Read Describe
  for stream in $STREAMS; do allow "$dept-notifications" literal topic "innovation.$dept.$stream.v1" Read Describe; done
  # Both read every department's outcomes (the catalogue of adoptable outcomes; adoptions of theirs),
  # and those of a department set up before read this one's.
  for other in $KNOWN; do
    allow "$dept-experiments" literal topic "innovation.$other.outcomes.v1" Read Describe
    [ "$other" = "$dept" ] || allow "$dept-notifications" literal topic "innovation.$other.outcomes.v1" Read Describe
    if ! listed "$other"; then
      allow "$other-experiments" literal topic "innovation.$dept.outcomes.v1" Read Describe
      allow "$other-notifications" literal topic "innovation.$dept.outcomes.v1" Read Describe
    fi
  done
  # The department's own systems: write its intake, nothing else.
  scram_user "$dept-systems"
  allow "$dept-systems" prefixed topic "innovation.$dept.inbound." Write Describe
done

# Reporting reads every department's streams (a new department needs no change here) and
# writes nothing but its own dead letters; it may not read the dead-letter topics nor any
# department's intake (unvetted events): the denials above win over the prefixed allow.
scram_user "$REPORTING_USER"
allow "$REPORTING_USER" prefixed topic "innovation." Read Describe
allow "$REPORTING_USER" literal topic "innovation.dlq.reporting" Write
allow "$REPORTING_USER" literal group "$REPORTING_GROUP" Read
settle

echo "kafka-init: done for departments: $DEPARTMENTS (set up on this cluster: $KNOWN)"

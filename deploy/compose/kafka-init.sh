#!/usr/bin/env bash
# One-shot, idempotent set-up of Kafka for the innovation network, run as the admin:
#   - every department's topics (innovation.<dept>.<stream>.v1) and the dead-letter topics
#     (innovation.dlq.<consuming service>), retention unlimited;
#   - a SCRAM-SHA-512 user per department service (<dept>-ideas, <dept>-experiments,
#     <dept>-notifications) and one for the central reporting service (reporting);
#   - the ACLs that keep departments apart (see deploy/README.md, "Who may do what on Kafka").
# Adding a department: run it again with the department in INNOVATION_DEPARTMENTS (and its
# principals' passwords in the environment); what exists already is left as it is.
#
# Env: KAFKA_BOOTSTRAP (kafka:9092), KAFKA_ADMIN_USER (admin), KAFKA_ADMIN_PASSWORD (required),
#      INNOVATION_DEPARTMENTS ("dwp hmrc"), KAFKA_PARTITIONS (6), KAFKA_REPLICATION (1),
#      KAFKA_PASSWORD_<PRINCIPAL> per principal, upper case with - as _:
#      KAFKA_PASSWORD_DWP_IDEAS, ..., KAFKA_PASSWORD_REPORTING. KAFKA_BIN (/opt/kafka/bin).
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
CONSUMING_SERVICES="experiments notifications reporting"  # each dead-letters to innovation.dlq.<service>
OUTCOME_READERS="experiments notifications"                # read every department's outcomes
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
  for service in $DEPARTMENT_SERVICES; do password_of "$dept-$service" >/dev/null; done
done
password_of "$REPORTING_USER" >/dev/null

admin_config=$(mktemp)
trap 'rm -f "$admin_config"' EXIT
cat >"$admin_config" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$ADMIN_USER" password="$ADMIN_PASSWORD";
PROPS

kafka_topics() { "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$admin_config" "$@"; }
kafka_configs() { "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$admin_config" "$@"; }
kafka_acls() { "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$admin_config" "$@"; }

create_topic() {
  kafka_topics --create --if-not-exists --topic "$1" --partitions "$PARTITIONS" --replication-factor "$REPLICATION" \
    --config retention.ms=-1 --config retention.bytes=-1
}

scram_user() {  # scram_user <principal>
  kafka_configs --alter --entity-type users --entity-name "$1" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$(password_of "$1")]"
}

# allow <principal> <literal|prefixed> <topic|group> <name> <operation>...
allow() {
  local principal=$1 pattern=$2 kind=$3 name=$4; shift 4
  local operations=()
  for op in "$@"; do operations+=(--operation "$op"); done
  kafka_acls --add --allow-principal "User:$principal" --resource-pattern-type "$pattern" "--$kind" "$name" "${operations[@]}"
}

echo "kafka-init: topics"
for dept in $DEPARTMENTS; do
  for stream in $STREAMS; do create_topic "innovation.$dept.$stream.v1"; done
done
for service in $CONSUMING_SERVICES; do create_topic "innovation.dlq.$service"; done

echo "kafka-init: users and ACLs"
for dept in $DEPARTMENTS; do
  for service in $DEPARTMENT_SERVICES; do
    principal="$dept-$service"
    scram_user "$principal"
    # Its own department's streams, nothing else of any department.
    allow "$principal" prefixed topic "innovation.$dept." Read Write Describe
    # Its own consumer groups: <service>.<dept> and <service>.<dept>.<anything>.
    allow "$principal" literal group "$service.$dept" Read
    allow "$principal" prefixed group "$service.$dept." Read
    if [[ " $CONSUMING_SERVICES " == *" $service "* ]]; then
      allow "$principal" literal topic "innovation.dlq.$service" Write
    fi
    if [[ " $OUTCOME_READERS " == *" $service "* ]]; then
      for other in $DEPARTMENTS; do
        [ "$other" = "$dept" ] || allow "$principal" literal topic "innovation.$other.outcomes.v1" Read Describe
      done
    fi
  done
done

# Reporting reads every department's streams (a new department needs no change here) and
# writes nothing but its own dead letters; it may not read the dead-letter topics.
scram_user "$REPORTING_USER"
allow "$REPORTING_USER" prefixed topic "innovation." Read Describe
kafka_acls --add --deny-principal "User:$REPORTING_USER" --resource-pattern-type prefixed --topic "innovation.dlq." --operation Read
allow "$REPORTING_USER" literal topic "innovation.dlq.reporting" Write
allow "$REPORTING_USER" literal group "$REPORTING_GROUP" Read

echo "kafka-init: done for departments: $DEPARTMENTS"

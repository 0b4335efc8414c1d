#!/usr/bin/env bash
# Runs one Kafka 4 node (broker + controller, KRaft) whose clients must authenticate with
# SASL/SCRAM-SHA-512 and are authorised by ACLs (StandardAuthorizer).
#
# Why not the apache/kafka image's own launcher: in KRaft, SCRAM credentials live in the
# cluster metadata, so the first (admin) credential must be written when the storage is
# formatted (`kafka-storage.sh format --add-scram ...`), and the image's launcher formats
# without it. This script formats with it (once: --ignore-formatted) and starts the node.
#
# Env: KAFKA_ADMIN_PASSWORD (required), KAFKA_ADMIN_USER (admin), KAFKA_ADVERTISED (kafka:9092),
#      KAFKA_CLIENT_PORT (9092), KAFKA_EXTERNAL_ADVERTISED (e.g. localhost:19092, optional) with
#      KAFKA_EXTERNAL_PORT (19092), KAFKA_CONTROLLER_PORT (9093, loopback only), KAFKA_PARTITIONS (6),
#      KAFKA_DATA_DIR (/var/lib/kafka/data), KAFKA_CLUSTER_ID, KAFKA_BIN (/opt/kafka/bin).
set -euo pipefail

ADMIN_USER=${KAFKA_ADMIN_USER:-admin}
ADMIN_PASSWORD=${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is required}
BIN=${KAFKA_BIN:-/opt/kafka/bin}
DATA_DIR=${KAFKA_DATA_DIR:-/var/lib/kafka/data}
CLIENT_PORT=${KAFKA_CLIENT_PORT:-9092}
ADVERTISED=${KAFKA_ADVERTISED:-kafka:$CLIENT_PORT}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
CLUSTER_ID=${KAFKA_CLUSTER_ID:-0X6NcBtFT8m4m7CdH3UtaA}
CONFIG_DIR=${KAFKA_CONFIG_DIR:-/tmp/innovation-kafka}
[[ $ADMIN_PASSWORD =~ ^[A-Za-z0-9._~-]{12,128}$ ]] \
  || { echo "KAFKA_ADMIN_PASSWORD must be 12-128 characters of A-Z a-z 0-9 . _ ~ -" >&2; exit 2; }

umask 077  # the configuration holds the admin's password
mkdir -p "$CONFIG_DIR" "$DATA_DIR"
scram_jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$ADMIN_USER\" password=\"$ADMIN_PASSWORD\";"

listeners="CLIENT://0.0.0.0:$CLIENT_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
advertised="CLIENT://$ADVERTISED"
protocols="CLIENT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
external_jaas=""
if [ -n "${KAFKA_EXTERNAL_ADVERTISED:-}" ]; then
  listeners="$listeners,EXTERNAL://0.0.0.0:${KAFKA_EXTERNAL_PORT:-19092}"
  advertised="$advertised,EXTERNAL://$KAFKA_EXTERNAL_ADVERTISED"
  protocols="$protocols,EXTERNAL:SASL_PLAINTEXT"
  external_jaas="listener.name.external.scram-sha-512.sasl.jaas.config=$scram_jaas"
fi

# The controller listener is bound to loopback: only this node reaches it, so its
# unauthenticated principal (User:ANONYMOUS) is a super user without opening a door.
cat >"$CONFIG_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protocols
inter.broker.listener.name=CLIENT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=$scram_jaas
$external_jaas
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$ADMIN_USER;User:ANONYMOUS
log.dirs=$DATA_DIR
num.partitions=${KAFKA_PARTITIONS:-6}
auto.create.topics.enable=false
log.retention.ms=-1
log.retention.bytes=-1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

# What the healthcheck and the init service use to talk to the broker as the admin.
cat >"$CONFIG_DIR/admin.properties" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$scram_jaas
PROPS

"$BIN/kafka-storage.sh" format --ignore-formatted --cluster-id "$CLUSTER_ID" --config "$CONFIG_DIR/server.properties" \
  --add-scram "SCRAM-SHA-512=[name=$ADMIN_USER,password=$ADMIN_PASSWORD]"
exec "$BIN/kafka-server-start.sh" "$CONFIG_DIR/server.properties"

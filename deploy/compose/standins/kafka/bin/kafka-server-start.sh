#!/usr/bin/env bash
# kafka-server-start.sh server.properties [--override property=value]...
# As Apache's: KAFKA_HEAP_OPTS defaults to -Xmx1G -Xms1G, logs go to stdout (config/log4j2.yaml).
set -euo pipefail
[ $# -ge 1 ] || { echo "USAGE: $0 server.properties [--override property=value]*" >&2; exit 1; }
case $1 in -daemon) echo "$0: -daemon is not supported by this image; run in the foreground" >&2; exit 1 ;; esac
base_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/log4j2.yaml}
exec "$base_dir/bin/kafka-run-class.sh" kafka.Kafka "$@"

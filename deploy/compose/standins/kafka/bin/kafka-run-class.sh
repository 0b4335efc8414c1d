#!/usr/bin/env bash
# kafka-run-class.sh CLASS [args]: runs one of Kafka's main classes with the jars in ../libs.
# Honours, as Apache's script does: KAFKA_HEAP_OPTS (-Xmx256M), KAFKA_JVM_PERFORMANCE_OPTS,
# KAFKA_LOG4J_OPTS (the tools' log4j2 configuration: warnings to stderr), KAFKA_OPTS, JAVA_HOME,
# CLASSPATH (appended).
set -euo pipefail
[ $# -ge 1 ] || { echo "USAGE: $0 classname [opts]" >&2; exit 1; }
base_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
heap=${KAFKA_HEAP_OPTS:--Xmx256M}
performance=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/tools-log4j2.yaml}
set -f  # the *_OPTS are split on spaces, as Apache's script does, but never globbed
# shellcheck disable=SC2086
exec "$java" $heap $performance $log4j ${KAFKA_OPTS:-} -cp "$base_dir/libs/*${CLASSPATH:+:$CLASSPATH}" "$@"

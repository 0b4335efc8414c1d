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
case $1 in
  # The broker and the performance tools: Apache's defaults. The other tools live a few seconds
  # (compose's healthcheck and init run dozens): the quick compiler and the serial collector
  # start them about twice as fast on a busy machine (a difference from Apache's script).
  kafka.Kafka|*Performance) performance_default="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true" ;;
  *) performance_default="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true" ;;
esac
performance=${KAFKA_JVM_PERFORMANCE_OPTS:-$performance_default}
log4j=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base_dir/config/tools-log4j2.yaml}
set -f  # the *_OPTS are split on spaces, as Apache's script does, but never globbed
# shellcheck disable=SC2086
exec "$java" $heap $performance $log4j ${KAFKA_OPTS:-} -cp "$base_dir/libs/*${CLASSPATH:+:$CLASSPATH}" "$@"

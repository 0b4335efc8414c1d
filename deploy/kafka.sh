#!/usr/bin/env bash
# A single Apache Kafka broker+controller (KRaft) on loopback, from Apache's jars on Maven Central.
#   kafka.sh fetch | start | stop | status
# Idempotent: start reuses the jars, the formatted storage and a running broker.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${KAFKA_HEAP:-768m}
LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
STATE=$RUN_DIR/kafka
LOG=$LOG_DIR/kafka.log
BOOTSTRAP=127.0.0.1:$KAFKA_PORT

# Kafka's command-line tools, quiet but for warnings.
java_tool() { timeout 90 java -Xmx256m -Dlog4j2.level=WARN -cp "$LIBS/*" "$@"; }

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v java >/dev/null || die "java is not installed (Kafka needs Java 17): apt-get install -y openjdk-17-jre-headless"
  command -v mvn >/dev/null || die "maven is not installed (it fetches Kafka's jars): apt-get install -y maven"
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  # KAFKA_MAVEN_SETTINGS: a Maven settings file, e.g. one naming a mirror of Maven Central.
  if ! mvn -B -q ${KAFKA_MAVEN_SETTINGS:+-s "$KAFKA_MAVEN_SETTINGS"} -f "$ROOT/deploy/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" \
        >"$LOG_DIR/kafka-fetch.log" 2>&1; then
    rm -rf "$LIBS"
    die "could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central with 'mvn dependency:copy-dependencies' (is Maven Central reachable?); details in $LOG_DIR/kafka-fetch.log"
  fi
  touch "$LIBS/.complete"
}

write_config() {
  mkdir -p "$STATE/data"
  cat >"$STATE/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$STATE/data
num.partitions=3
auto.create.topics.enable=true
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
  cat >"$STATE/log4j2.properties" <<'PROPS'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
PROPS
}

# One real metadata request: the broker lists its topics (giving up after a few seconds).
answers_metadata() {
  local config=$RUN_DIR/kafka-tool.properties
  printf 'request.timeout.ms=4000\ndefault.api.timeout.ms=6000\n' >"$config"
  java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$1" --command-config "$config" --list >/dev/null 2>&1
}

start() {
  local pid
  pid=$(read_pid kafka)
  if pid_alive "$pid" && port_open "$KAFKA_PORT"; then
    say "kafka: already running (pid $pid) at $BOOTSTRAP"; return 0
  fi
  fetch
  write_config
  if port_open "$KAFKA_PORT"; then
    if answers_metadata "$BOOTSTRAP"; then
      say "kafka: reusing the broker already answering at $BOOTSTRAP"; return 0
    fi
    require_free_port "$KAFKA_PORT" "Kafka"
  fi
  require_free_port "$KAFKA_CONTROLLER_PORT" "the Kafka controller"
  if [ ! -f "$STATE/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(java_tool kafka.tools.StorageTool random-uuid 2>>"$LOG")
    java_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$STATE/server.properties" >>"$LOG" 2>&1 \
      || die "kafka: formatting storage in $STATE/data failed; read $LOG"
  fi
  say "kafka: starting Apache Kafka $KAFKA_VERSION (KRaft) at $BOOTSTRAP; log: $LOG"
  setsid nohup java -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$STATE/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$STATE/server.properties" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_DIR/kafka.pid"
  pid=$!
  for _ in $(seq 1200); do
    if ! pid_alive "$pid"; then
      rm -f "$PID_DIR/kafka.pid"
      tail -n 5 "$LOG" >&2 || true
      die "kafka: the broker exited during start-up; read $LOG"
    fi
    port_open "$KAFKA_PORT" && break
    sleep 0.1
  done
  if ! port_open "$KAFKA_PORT" || ! { answers_metadata "$BOOTSTRAP" || answers_metadata "$BOOTSTRAP" || answers_metadata "$BOOTSTRAP"; }; then
    stop_pid kafka 10
    die "kafka: the broker did not answer metadata requests at $BOOTSTRAP within two minutes; read $LOG"
  fi
  say "kafka: ready at $BOOTSTRAP"
}

stop() { stop_pid kafka 30; say "kafka: stopped"; }

status() { server_status kafka "$BOOTSTRAP"; }

case "${1:-start}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: kafka.sh fetch|start|stop|status" ;;
esac

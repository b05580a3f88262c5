#!/bin/sh
# apache/kafka's environment contract: KAFKA_FOO_BAR=v becomes foo.bar=v in server.properties
# (as apache/kafka reads them: a double underscore stands for '_', a triple one for '-'); CLUSTER_ID
# formats the storage once.
set -eu
config=/opt/kafka/config/server.properties
: > "$config"
env | while IFS='=' read -r key value; do
  case "$key" in
    KAFKA_VERSION|KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_JMX_OPTS) ;;
    KAFKA_LOG4J_ROOT_LOGLEVEL|KAFKA_LOG4J_LOGGERS|KAFKA_TOOLS_LOG4J_LOGLEVEL|KAFKA_JMX_HOSTNAME|KAFKA_JMX_PORT) ;;
    KAFKA_*)
      name=$(printf '%s' "${key#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/\x01/g' -e 's/__/\x02/g' -e 's/_/./g' -e 's/\x01/-/g' -e 's/\x02/_/g')
      printf '%s=%s\n' "$name" "$value" >> "$config" ;;
  esac
done
grep -q '^log.dirs=' "$config" || echo "log.dirs=/tmp/kraft-combined-logs" >> "$config"
cp=/opt/kafka/libs/*
# The logging backend the release was resolved with: log4j2 where its jars bring log4j-core's SLF4J
# binding (4.1 on), reload4j before (as the local runtime chooses, harness/brokers/kafka/dist.py).
if ls /opt/kafka/libs/log4j-slf4j*-impl-*.jar >/dev/null 2>&1; then
  log4j="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties"
else
  log4j="-Dlog4j.configuration=file:/opt/kafka/config/log4j.properties"
fi
java -Xmx256m -XX:TieredStopAtLevel=1 "$log4j" -cp "$cp" kafka.tools.StorageTool format \
  --cluster-id "${CLUSTER_ID:?set CLUSTER_ID (any base64 UUID, the same on every node)}" \
  --config "$config" --ignore-formatted
# shellcheck disable=SC2086  # the options are lists, as in kafka-run-class.sh
exec java ${KAFKA_HEAP_OPTS:--Xmx1g -Xms1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  "$log4j" ${KAFKA_OPTS:-} -cp "$cp" kafka.Kafka "$config"

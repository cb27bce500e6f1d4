#!/usr/bin/env bash
# Fetch the Kafka/Connect runtime and the Debezium connector plugins from Maven Central into
# .cache/stack/ (git-ignored). A marker keyed by the pinned versions and poms makes a second run
# reuse the cache without any network work.
set -euo pipefail
STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$STACK_DIR/../.." && pwd)"
CACHE="${NILUS_STACK_CACHE:-$ROOT/.cache/stack}"
# shellcheck source=versions.env
source "$STACK_DIR/versions.env"

cache_key() {
  cat "$STACK_DIR/versions.env" "$STACK_DIR"/poms/*/pom.xml | sha256sum | cut -c1-16
}

KEY="$(cache_key)"
MARKER="$CACHE/.ready-$KEY"
if [[ -f "$MARKER" ]]; then
  echo "stack: jars cached in $CACHE (key $KEY)"
  exit 0
fi
command -v mvn >/dev/null || { echo "stack: mvn not found; install Maven (apt-get install -y maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "stack: java not found; install a JDK 17+ (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }

mkdir -p "$CACHE"
TMP="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
# -B already turns Maven's colours off, but Maven 3.8's Jansi still writes a reset (ESC[0m) to
# stdout and stderr around every run, which shows up as `[0m` in logs and pipes. jansi.noreset is a
# JVM property (read before Maven parses its -D options), so it goes in MAVEN_OPTS.
if [[ ! -t 1 || ! -t 2 ]]; then
  export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }-Djansi.noreset=true"
fi
MVN=(mvn -B -ntp -q -s "$STACK_DIR/maven-settings.xml" -Dkafka.version="$KAFKA_VERSION" -Ddebezium.version="$DEBEZIUM_VERSION"
     -Dpgjdbc.version="$PGJDBC_VERSION" -Dlog4j.version="$LOG4J_VERSION" -Dhibernate.version="$HIBERNATE_VERSION"
     -Dslf4j.version="$SLF4J_VERSION")

echo "stack: fetching Kafka $KAFKA_VERSION runtime from Maven Central"
"${MVN[@]}" -f "$STACK_DIR/poms/runtime/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$TMP/runtime"

# Each plugin folder with its Debezium version (see versions.env for why they differ).
declare -A PLUGIN_VERSIONS=(
  [debezium-connector-postgres]="$DEBEZIUM_VERSION"
  [debezium-connector-mysql]="$DEBEZIUM_MYSQL_VERSION"
  [debezium-connector-mysql-2.6]="$DEBEZIUM_MYSQL_MARIADB_VERSION"
  [debezium-connector-jdbc]="$DEBEZIUM_VERSION"
)
for plugin in debezium-connector-postgres debezium-connector-mysql debezium-connector-mysql-2.6 debezium-connector-jdbc; do
  version="${PLUGIN_VERSIONS[$plugin]}"
  echo "stack: fetching plugin $plugin ($version)"
  # Kafka and slf4j come from the Connect runtime; a second copy inside a plugin folder would
  # shadow the runtime's classes under plugin isolation.
  "${MVN[@]}" -Ddebezium.version="$version" -f "$STACK_DIR/poms/$plugin/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DexcludeGroupIds=org.apache.kafka,org.slf4j,org.apache.logging.log4j \
    -DoutputDirectory="$TMP/plugins/$plugin"
done
ls "$TMP/plugins/debezium-connector-jdbc" | grep -q '^postgresql-' \
  || { echo "stack: PostgreSQL JDBC driver missing from the JDBC sink plugin folder" >&2; exit 1; }

rm -rf "$CACHE/runtime" "$CACHE/plugins" "$CACHE"/.ready-*
mv "$TMP/runtime" "$CACHE/runtime"
mv "$TMP/plugins" "$CACHE/plugins"
touch "$MARKER"
echo "stack: jars cached in $CACHE (key $KEY)"

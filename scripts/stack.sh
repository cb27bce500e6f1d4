#!/usr/bin/env bash
# Local stack for nilus-pg, without Docker: a single-node KRaft Kafka broker, a private
# PostgreSQL cluster with logical decoding, a private MariaDB server with a row-based binlog and
# (on request) Kafka Connect with the Debezium PostgreSQL source and JDBC sink plugins. Jars come
# from Maven Central into .cache/stack/, state and logs live in .stack/ - except PostgreSQL's
# (MariaDB's) folder when we run as root and the `postgres` (`mysql`) OS user cannot reach
# .stack/: then it lives in /var/lib/nilus-pg-stack/<clone>-<hash of the .stack path>/pg (/mariadb)
# and .stack/pg (.stack/mariadb) links to it.
#
#   bash scripts/stack.sh up [--connect]   start (idempotent); NILUS_STACK_CONNECT=1 = --connect
#   bash scripts/stack.sh down             stop what `up` started (pid files, pg_ctl); keeps data
#   bash scripts/stack.sh status           one line per component: state, pid, address; then
#                                          the folder each component keeps its data in
#   bash scripts/stack.sh clean            down, then delete all state and data (a clean slate)
#
# Ports: NILUS_KAFKA_PORT (9092), NILUS_KAFKA_CONTROLLER_PORT (9093), NILUS_PG_PORT (55432),
# NILUS_MYSQL_PORT (53306), NILUS_CONNECT_PORT (8083); all bound to 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/stack/common.sh"
source "$STACK_DIR/pg.sh"
source "$STACK_DIR/mariadb.sh"
source "$STACK_DIR/kafka.sh"
source "$STACK_DIR/connect.sh"
source "$STACK_DIR/test-tools.sh"

usage() {
  echo "usage: bash scripts/stack.sh up [--connect] | down | status | clean" >&2
  exit 2
}

preflight() {
  command -v java >/dev/null || die "java not found; install a JDK 17+ (apt-get install -y openjdk-17-jre-headless)"
  command -v node >/dev/null || die "node not found; install Node.js 20"
  [[ -d "$ROOT/node_modules/kafkajs" ]] || die "node_modules missing; run npm ci first"
  # Not the stack's: `npm test` (the README's quick start) runs the alert-rule tests with promtool
  # and the Kubernetes objects' test with kubectl.
  test_tools_ensure
}

cmd_up() {
  local with_connect="${NILUS_STACK_CONNECT:-0}"
  for arg in "$@"; do
    case "$arg" in
      --connect) with_connect=1 ;;
      *) usage ;;
    esac
  done
  preflight
  # Every port this run needs, checked before anything starts: a second clone on the same
  # ports gets one message naming each busy port and the variable that moves it.
  local ports=()
  pg_running || ports+=("$PG_PORT NILUS_PG_PORT PostgreSQL")
  mariadb_running || ports+=("$MYSQL_PORT NILUS_MYSQL_PORT MariaDB")
  pid_alive "$KAFKA_PID" || ports+=("$KAFKA_PORT NILUS_KAFKA_PORT Kafka" "$CONTROLLER_PORT NILUS_KAFKA_CONTROLLER_PORT Kafka controller")
  [[ "$with_connect" == 1 ]] && ! pid_alive "$CONNECT_PID" && ports+=("$CONNECT_PORT NILUS_CONNECT_PORT Kafka Connect")
  ((${#ports[@]} == 0)) || require_ports "${ports[@]}"
  mkdir -p "$STATE"
  bash "$STACK_DIR/fetch.sh"
  pg_up
  mariadb_up
  kafka_up
  [[ "$with_connect" == 1 ]] && connect_up
  echo
  echo "PostgreSQL     postgresql://postgres@$HOST:$PG_PORT/nilus_source (Debezium reads)"
  echo "               postgresql://postgres@$HOST:$PG_PORT/nilus_target (nilus-pg writes)"
  echo "               postgresql://postgres@$HOST:$PG_PORT/nilus_jdbc   (JDBC sink writes)"
  echo "MariaDB        mysql://root@$HOST:$MYSQL_PORT/$MARIADB_DATABASE (user $MARIADB_USER/$MARIADB_PASSWORD can read the binlog)"
  echo "Kafka          $HOST:$KAFKA_PORT"
  if pid_alive "$CONNECT_PID"; then echo "Kafka Connect  http://$HOST:$CONNECT_PORT"; fi
  echo "Logs           $STATE/{pg,mariadb,kafka,connect}/"
  echo "PostgreSQL data $(service_where pg postgres "$PG_DIR")"
  echo "MariaDB data    $(service_where mariadb mysql "$MARIADB_DIR")"
}

cmd_down() {
  # Reverse order: Connect needs Kafka to commit its offsets while shutting down.
  connect_down
  kafka_down
  mariadb_down
  pg_down
}

cmd_status() {
  local rc=0
  printf '%-10s %-8s %-8s %s\n' COMPONENT STATE PID ADDRESS
  pg_status || rc=1
  mariadb_status || rc=1
  kafka_status || rc=1
  connect_status || true   # Connect is optional
  echo
  printf '%-10s %s\n' DATA FOLDER
  printf '%-10s %s\n' postgresql "$(service_where pg postgres "$PG_DIR")"
  printf '%-10s %s\n' mariadb "$(service_where mariadb mysql "$MARIADB_DIR")"
  printf '%-10s %s\n' kafka "$KAFKA_DIR" connect "$CONNECT_DIR"
  return "$rc"
}

# down, then delete the state folder and any data kept outside it.
cmd_clean() {
  case "$STATE" in
    / | "$ROOT" | "$HOME") die "refusing to delete NILUS_STACK_STATE=$STATE" ;;
  esac
  cmd_down
  pg_clean
  mariadb_clean
  rm -rf -- "$STATE"
  log "removed $STATE"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  clean) cmd_clean ;;
  *) usage ;;
esac

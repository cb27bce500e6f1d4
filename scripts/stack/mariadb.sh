# Private MariaDB server with a row-based binlog (sourced by scripts/stack.sh): the MySQL/MariaDB
# source of batch pipelines, and later of Debezium's MySQL connector.
MARIADB_DATABASE=nilus_source
# The account Debezium's MySQL connector will use (root has an empty password, over TCP too).
MARIADB_USER=nilus
MARIADB_PASSWORD=nilus

# MARIADB_DIR holds data/ (with the binlog), mariadbd.log, install.log, the pid file and the Unix
# socket. It is $STATE/mariadb, unless we are root and the mysql OS user cannot reach $STATE (a
# clone under /root or in a mktemp -d folder): then it is $SERVICE_BASE/$STATE_KEY/mariadb and
# $STATE/mariadb is a symlink to it - as for PostgreSQL (pg.sh).
mariadb_locate() {
  MARIADB_DIR="$(service_home mariadb mysql)"
  MARIADB_DATA="$MARIADB_DIR/data"
  MARIADB_LOG="$MARIADB_DIR/mariadbd.log"
  MARIADB_PID="$MARIADB_DIR/mariadbd.pid"
  MARIADB_SOCKET="$MARIADB_DIR/mariadbd.sock"
  # A path too long for a socket (107 bytes) moves the socket to /tmp, keyed like $STATE_KEY.
  if (( $(printf '%s' "$MARIADB_SOCKET" | wc -c) > 107 )); then
    MARIADB_SOCKET="/tmp/nilus-pg-stack-mariadb-${STATE_KEY##*-}.sock"
  fi
}
mariadb_locate

# mariadb_bin NAME: the path of mariadbd, mariadb-install-db or mariadb. Debian's packages are
# installed when root can (like PostgreSQL's); the machine's own server on 3306 is never used.
mariadb_bin() {
  local name="$1" path=""
  mariadb_find() {
    if [[ -x "/usr/sbin/$1" ]]; then path="/usr/sbin/$1"; else path="$(command -v "$1" 2>/dev/null)" || path=""; fi
  }
  mariadb_find "$name"
  if [[ -z "$path" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "$name missing; installing Debian's mariadb-server and mariadb-client packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client </dev/null >&2
    mariadb_find "$name"
  fi
  [[ -n "$path" ]] || die "$name not found; run: apt-get update && apt-get install -y mariadb-server mariadb-client"
  echo "$path"
}

# mariadb-install-db and mariadbd refuse to run as root (without --user): run them as the `mysql`
# OS user then, as PostgreSQL runs as `postgres`.
as_mariadb_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    id mysql >/dev/null 2>&1 || die "running as root needs a 'mysql' OS user (apt-get install -y mariadb-server creates it)"
    (cd / && runuser -u mysql -- "$@")
  else
    "$@"
  fi
}

# The mariadb client over TCP as root; --no-defaults: no option file of the machine or the user.
mariadb_sql() {
  "$(mariadb_bin mariadb)" --no-defaults --protocol=TCP -h "$HOST" -P "$MYSQL_PORT" -u root "$@"
}

# mariadb_ours -> 0 when the server answering on $HOST:$MYSQL_PORT is this stack's (its pid file is
# ours), so nothing is ever done to another server on that port - such as the machine's own.
mariadb_ours() {
  [[ "$(mariadb_sql -N -B -e 'SELECT @@pid_file' 2>/dev/null)" == "$MARIADB_PID" ]]
}

# Running = the pid file names a live mariadbd (read through /proc, so it works for a server that
# runs as another OS user too).
mariadb_running() {
  local pid
  pid="$(mariadb_pid)"
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == mariadbd ]]
}

mariadb_pid() { head -n 1 "$MARIADB_PID" 2>/dev/null || true; }

mariadb_init() {
  [[ -d "$MARIADB_DATA/mysql" ]] && return 0
  service_home_prepare mariadb mysql "$MARIADB_DIR"
  if [[ "$MARIADB_DIR" != "$STATE/mariadb" ]]; then
    log "the mysql OS user cannot reach $STATE, so MariaDB's data lives in $MARIADB_DIR ($STATE/mariadb links to it)"
  fi
  log "initialising MariaDB data directory in $MARIADB_DATA"
  rm -rf -- "$MARIADB_DATA"   # what a failed earlier attempt left
  # Options the script does not know go to mariadbd unquoted: none of them may hold a space
  # (the data directory may, the script quotes it).
  as_mariadb_owner "$(mariadb_bin mariadb-install-db)" --no-defaults --datadir="$MARIADB_DATA" \
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
    --tmpdir=/tmp --innodb-log-file-size=32M \
    >"$MARIADB_DIR/install.log" 2>&1 || { tail_log "$MARIADB_DIR/install.log"; die "mariadb-install-db failed"; }
}

# A folder outside $STATE without the symlink means $STATE was deleted by hand: a running
# server there is still ours (link it again); a stopped one is left-over data of a clean slate.
mariadb_adopt() {
  [[ "$MARIADB_DIR" != "$STATE/mariadb" && ! -L "$STATE/mariadb" && -d "$MARIADB_DIR" ]] || return 0
  if mariadb_running; then
    mkdir -p "$STATE"
    ln -sfn -- "$MARIADB_DIR" "$STATE/mariadb"
  else
    log "removing MariaDB data left in $MARIADB_DIR after $STATE was deleted"
    rm -rf -- "$MARIADB_DIR"
    rmdir -- "$(dirname -- "$MARIADB_DIR")" 2>/dev/null || true
    mariadb_locate
  fi
}

mariadb_up() {
  mariadb_adopt
  if mariadb_running; then
    mariadb_ours || die "MariaDB runs (pid $(mariadb_pid)) but is not the server on $HOST:$MYSQL_PORT; was NILUS_MYSQL_PORT different when it started? (bash scripts/stack.sh down, then up)"
    log "MariaDB already running (pid $(mariadb_pid))"
    mariadb_setup
    return 0
  fi
  require_ports "$MYSQL_PORT NILUS_MYSQL_PORT MariaDB"
  # Decide again now that $STATE exists: its own permissions count too.
  mkdir -p "$STATE"
  mariadb_locate
  mariadb_init
  # No option file at all (--no-defaults): the machine's /etc/mysql config belongs to its own
  # server. The binlog is what Debezium's MySQL connector reads: row-based, full row images.
  # setsid: its own session, so nothing aimed at the caller's terminal or process group reaches it.
  local run launcher deadline=$((SECONDS + ${NILUS_STACK_TIMEOUT:-60}))
  run=("$(mariadb_bin mariadbd)")
  if [[ "$(id -u)" == 0 ]]; then
    id mysql >/dev/null 2>&1 || die "running as root needs a 'mysql' OS user (apt-get install -y mariadb-server creates it)"
    run=(runuser -u mysql -- "${run[@]}")
  fi
  (cd / && exec setsid "${run[@]}" --no-defaults \
    --datadir="$MARIADB_DATA" --pid-file="$MARIADB_PID" --socket="$MARIADB_SOCKET" \
    --log-error="$MARIADB_LOG" --tmpdir=/tmp \
    --bind-address="$HOST" --port="$MYSQL_PORT" --skip-name-resolve \
    --server-id=1 --log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL --expire-logs-days=1 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-buffer-pool-size=96M --innodb-log-file-size=32M --innodb-flush-log-at-trx-commit=2 \
    --sync-binlog=0 --max-connections=200 \
    >"$MARIADB_DIR/mariadbd.out" 2>&1 </dev/null) &
  launcher=$!
  until mariadb_ours; do
    if ! kill -0 "$launcher" 2>/dev/null; then
      tail_log "$MARIADB_DIR/mariadbd.out" 20
      tail_log "$MARIADB_LOG"
      die "MariaDB exited during start-up (log: $MARIADB_LOG)"
    fi
    if (( SECONDS >= deadline )); then
      tail_log "$MARIADB_LOG"
      die "MariaDB did not answer on $HOST:$MYSQL_PORT within ${NILUS_STACK_TIMEOUT:-60}s (log: $MARIADB_LOG)"
    fi
    sleep 0.5
  done
  mariadb_setup
  log "MariaDB started (pid $(mariadb_pid))"
}

# The database and Debezium's account (idempotent; REPLICATION SLAVE/CLIENT read the binlog).
mariadb_setup() {
  mariadb_ours || die "the server on $HOST:$MYSQL_PORT is not this stack's MariaDB; nothing done to it"
  mariadb_sql -e "CREATE DATABASE IF NOT EXISTS $MARIADB_DATABASE;
    CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';
    GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '$MARIADB_USER'@'%';" \
    || die "could not create database $MARIADB_DATABASE and user $MARIADB_USER in MariaDB"
}

# TERM (a clean InnoDB shutdown), wait up to 60 s, then KILL.
mariadb_down() {
  if ! mariadb_running; then log "MariaDB not running"; return 0; fi
  local pid i
  pid="$(mariadb_pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 120); do
    [[ -e "/proc/$pid" ]] || break
    sleep 0.5
  done
  if [[ -e "/proc/$pid" ]]; then
    log "MariaDB (pid $pid) ignored TERM for 60 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 20); do [[ -e "/proc/$pid" ]] || break; sleep 0.5; done
  fi
  log "MariaDB stopped (pid $pid); data kept in $MARIADB_DATA"
}

# Delete the (stopped) server's folder when it lives outside $STATE (`clean` deletes $STATE).
mariadb_clean() {
  mariadb_running && die "MariaDB is still running; run down first"
  [[ "$MARIADB_DIR" != "$STATE/mariadb" ]] || return 0
  rm -rf -- "$MARIADB_DIR"
  rmdir -- "$(dirname -- "$MARIADB_DIR")" 2>/dev/null || true
  log "removed MariaDB data in $MARIADB_DIR"
}

mariadb_status() {
  if mariadb_running; then
    printf '%-10s %-8s %-8s %s\n' mariadb running "$(mariadb_pid)" "mysql://root@$HOST:$MYSQL_PORT/$MARIADB_DATABASE"
  else
    printf '%-10s %-8s %-8s %s\n' mariadb stopped - "$HOST:$MYSQL_PORT"
    return 1
  fi
}

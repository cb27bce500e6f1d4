# Private PostgreSQL cluster with logical decoding (sourced by scripts/stack.sh).
PG_DATABASES=(nilus_source nilus_target nilus_jdbc)

# PG_DIR holds data/, postgres.log, initdb.log and the Unix socket. It is $STATE/pg, unless we
# are root and the postgres OS user cannot reach $STATE (a clone under /root or in a mktemp -d
# folder): then it is $SERVICE_BASE/$STATE_KEY/pg and $STATE/pg is a symlink to it.
pg_locate() {
  PG_DIR="$(service_home pg postgres)"
  PG_DATA="$PG_DIR/data"
  PG_LOG="$PG_DIR/postgres.log"
}
pg_locate

pg_bin() {
  local dir
  if [[ -n "${NILUS_PG_BIN:-}" ]]; then echo "$NILUS_PG_BIN"; return; fi
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [[ -z "$dir" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "PostgreSQL binaries missing; installing Debian's postgresql package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql </dev/null >&2
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  fi
  [[ -n "$dir" ]] || die "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin; run: apt-get update && apt-get install -y postgresql (or set NILUS_PG_BIN)"
  echo "$dir"
}

# initdb and postgres refuse to run as root: run them as the `postgres` OS user then.
as_pg_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' OS user (apt-get install -y postgresql creates it)"
    # From /: the caller's folder may be one postgres cannot enter (pg_ctl would warn about it).
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_running() {
  [[ -f "$PG_DATA/postmaster.pid" ]] && as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

pg_init() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  service_home_prepare pg postgres "$PG_DIR"
  if [[ "$PG_DIR" != "$STATE/pg" ]]; then
    log "the postgres OS user cannot reach $STATE, so PostgreSQL's data lives in $PG_DIR ($STATE/pg links to it)"
  fi
  log "initialising PostgreSQL cluster in $PG_DATA"
  # The socket goes next to the data: double quotes keep a path with spaces one entry, '' is a
  # quote inside the value. A path too long for a socket (107 bytes) means TCP only.
  local q="'" sockets
  sockets="'\"${PG_DIR//$q/$q$q}\"'"
  if (( $(printf '%s' "$PG_DIR" | wc -c) + 15 > 107 )); then   # + "/.s.PGSQL.NNNNN"
    log "$PG_DIR is too long for a Unix socket path; PostgreSQL listens on TCP only"
    sockets="''"
  fi
  as_pg_owner "$(pg_bin)/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$PG_DIR/initdb.log" 2>&1 || { tail_log "$PG_DIR/initdb.log"; die "initdb failed"; }
  cat >>"$PG_DATA/postgresql.conf" <<CONF
# nilus-pg local stack
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = $sockets
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

# A folder outside $STATE without the symlink means $STATE was deleted by hand: a running
# server there is still ours (link it again); a stopped one is left-over data of a clean slate.
pg_adopt() {
  [[ "$PG_DIR" != "$STATE/pg" && ! -L "$STATE/pg" && -d "$PG_DIR" ]] || return 0
  if pg_running; then
    mkdir -p "$STATE"
    ln -sfn -- "$PG_DIR" "$STATE/pg"
  else
    log "removing PostgreSQL data left in $PG_DIR after $STATE was deleted"
    rm -rf -- "$PG_DIR"
    rmdir -- "$(dirname -- "$PG_DIR")" 2>/dev/null || true
    pg_locate
  fi
}

pg_up() {
  pg_adopt
  if pg_running; then log "PostgreSQL already running (pid $(pg_pid))"; pg_databases; return 0; fi
  require_ports "$PG_PORT NILUS_PG_PORT PostgreSQL"
  # Decide again now that $STATE exists: its own permissions count too.
  mkdir -p "$STATE"
  pg_locate
  pg_init
  # The port lives in postgresql.conf; -o overrides it so NILUS_PG_PORT always wins.
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -o "-p $PG_PORT" start >/dev/null \
    || { tail_log "$PG_LOG"; die "PostgreSQL did not start"; }
  pg_databases
  log "PostgreSQL started (pid $(pg_pid))"
}

# Members of this role log in with a password (scram-sha-256) even though the stack trusts
# everyone else: the tests that prove a password reaches its reader (e.g. through Kafka Connect's
# config provider) need a server that checks it. Idempotent, also for a cluster made before it.
PG_PASSWORD_ROLE=nilus_password_login
pg_password_auth() {
  local psql hba="$PG_DATA/pg_hba.conf"
  psql="$(pg_bin)/psql"
  if ! as_pg_owner grep -q "+$PG_PASSWORD_ROLE" "$hba"; then
    as_pg_owner sh -c 'f="$1"; line="$2"; { printf "%s\n" "$line"; cat "$f"; } >"$f.new" && mv "$f.new" "$f"' _ "$hba" \
      "host all +$PG_PASSWORD_ROLE $HOST/32 scram-sha-256" || die "could not add the password rule to $hba"
    "$psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -qAtc "SELECT pg_reload_conf()" >/dev/null
  fi
  "$psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -qc \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_PASSWORD_ROLE') THEN CREATE ROLE $PG_PASSWORD_ROLE NOLOGIN; END IF; END \$\$" >/dev/null \
    || die "could not create role $PG_PASSWORD_ROLE"
}

pg_databases() {
  local psql db
  pg_password_auth
  psql="$(pg_bin)/psql"
  for db in "${PG_DATABASES[@]}"; do
    if [[ -z "$("$psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      "$psql" -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null \
        || die "could not create database $db"
    fi
  done
}

pg_down() {
  if ! pg_running; then log "PostgreSQL not running"; return 0; fi
  local pid; pid="$(pg_pid)"
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
  log "PostgreSQL stopped (pid $pid); data kept in $PG_DATA"
}

# Delete the (stopped) server's folder when it lives outside $STATE (`clean` deletes $STATE).
pg_clean() {
  pg_running && die "PostgreSQL is still running; run down first"
  [[ "$PG_DIR" != "$STATE/pg" ]] || return 0
  rm -rf -- "$PG_DIR"
  rmdir -- "$(dirname -- "$PG_DIR")" 2>/dev/null || true
  log "removed PostgreSQL data in $PG_DIR"
}

pg_status() {
  if pg_running; then
    printf '%-10s %-8s %-8s %s\n' postgresql running "$(pg_pid)" "postgresql://postgres@$HOST:$PG_PORT/{$(IFS=,; echo "${PG_DATABASES[*]}")}"
  else
    printf '%-10s %-8s %-8s %s\n' postgresql stopped - "$HOST:$PG_PORT"
    return 1
  fi
}

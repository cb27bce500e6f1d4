#!/usr/bin/env bash
# The local stack works wherever the repository is cloned. Run as root (CI runs it from .ci/run);
# it clones this checkout's HEAD (committed files only) and, on private ports, checks:
#   A  a clone in a `mktemp -d` folder (mode 700, like /root): the postgres and mysql OS users
#      cannot reach it, so PostgreSQL's and MariaDB's folders live under /var/lib/nilus-pg-stack/
#      and .stack/pg, .stack/mariadb link to them; `status` names those folders, `down` keeps
#      them, `up` right after `down` works, `clean` deletes them
#   B  a clone whose path holds a space, under a folder every user can search: PostgreSQL's and
#      MariaDB's folders (and their Unix sockets) stay in the clone; while A runs on the same
#      ports B's `up` starts nothing and names each busy port and its variable, and A keeps running
#   C  a clone owned by a throw-away non-root user (when useradd exists): that user runs
#      PostgreSQL and MariaDB itself, in the clone, with no root help (through the stack's own
#      functions, as test/helpers/stack-control.ts uses them; no Kafka)
# Each check prints `ok - ...`; the last line is `clone-test: N checks passed` (exit 0) or
# `clone-test: FAIL: ...` (exit 1). Kafka/Connect jars come from NILUS_STACK_CACHE, default this
# checkout's .cache/stack (fetch them first: bash scripts/stack/fetch.sh); node_modules is linked
# from this checkout. Ports: NILUS_CLONE_TEST_PG_PORT (56432), NILUS_CLONE_TEST_MYSQL_PORT (56306),
# NILUS_CLONE_TEST_KAFKA_PORT (19092; the controller uses the next port). The machine's own
# MariaDB (3306) is never used.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export NILUS_STACK_CACHE="${NILUS_STACK_CACHE:-$ROOT/.cache/stack}"
PG_PORT="${NILUS_CLONE_TEST_PG_PORT:-56432}"
MYSQL_PORT="${NILUS_CLONE_TEST_MYSQL_PORT:-56306}"
KAFKA_PORT="${NILUS_CLONE_TEST_KAFKA_PORT:-19092}"
CONTROLLER_PORT=$((KAFKA_PORT + 1))
SERVICE_BASE=/var/lib/nilus-pg-stack
TEST_USER=nilus-stack-test
CHECKS=0

fail() { echo "clone-test: FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

[[ "$(id -u)" == 0 ]] || fail "run as root (it checks the hand-over of PostgreSQL and MariaDB to the postgres and mysql OS users)"
[[ -d "$ROOT/node_modules/kafkajs" ]] || fail "node_modules missing in $ROOT; run npm ci first"
for port in "$PG_PORT" "$MYSQL_PORT" "$KAFKA_PORT" "$CONTROLLER_PORT"; do
  port_open "$port" && fail "port $port is in use; set NILUS_CLONE_TEST_PG_PORT / NILUS_CLONE_TEST_MYSQL_PORT / NILUS_CLONE_TEST_KAFKA_PORT"
done

# stack CLONE ARGS...: scripts/stack.sh of CLONE with its own state folder and the private ports.
stack() {
  local clone="$1"; shift
  (cd "$clone" && env -u NILUS_STACK_STATE -u NILUS_STACK_SERVICE_DIR -u NILUS_STACK_CONNECT \
    NILUS_PG_PORT="$PG_PORT" NILUS_KAFKA_PORT="$KAFKA_PORT" NILUS_KAFKA_CONTROLLER_PORT="$CONTROLLER_PORT" \
    NILUS_CONNECT_PORT=$((KAFKA_PORT + 2)) NILUS_MYSQL_PORT="$MYSQL_PORT" bash scripts/stack.sh "$@")
}
pg_answers() { [[ "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d nilus_target -Atc 'SELECT 1' 2>/dev/null)" == 1 ]]; }
# mariadb_query ARGS...: the mariadb client on the private port (no option files), as root by default.
mariadb_query() { mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$MYSQL_PORT" -u root -N -B "$@" 2>/dev/null; }
mariadb_answers() { [[ "$(mariadb_query -e 'SELECT 1' nilus_source)" == 1 ]]; }
# The settings Debezium's MySQL connector needs, and its account.
mariadb_ready_for_cdc() {
  [[ "$(mariadb_query -e 'SELECT CONCAT_WS(" ", @@binlog_format, @@log_bin, @@binlog_row_image, @@server_id > 0)')" == "ROW ON FULL 1" ]] \
    && [[ "$(mariadb_query -u nilus -pnilus -e 'SELECT CURRENT_USER()')" == "nilus@%" ]]
}
kafka_answers() { node "$1/scripts/stack/probe.js" kafka "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1; }
clone_to() {
  mkdir -p -- "$(dirname -- "$1")"
  git -c safe.directory="*" clone -q -- "$ROOT" "$1"
  ln -s -- "$ROOT/node_modules" "$1/node_modules"
}

# as_user BODY: BODY with the stack's PostgreSQL and MariaDB functions, as the test user in clone C.
as_user() {
  (cd "$C" && runuser -u "$TEST_USER" -- env -u NILUS_STACK_STATE -u NILUS_STACK_SERVICE_DIR \
    NILUS_PG_PORT="$PG_PORT" NILUS_MYSQL_PORT="$MYSQL_PORT" bash -c 'set -euo pipefail; source scripts/stack/common.sh;
      source "$STACK_DIR/pg.sh"; source "$STACK_DIR/mariadb.sh"; '"$1")
}

TMP_A="" TMP_B="" TMP_C="" C="" CLONES=() USER_CREATED=0
cleanup() {
  local rc=$? clone
  for clone in "${CLONES[@]}"; do
    [[ -d "$clone/.stack" || -L "$clone/.stack/pg" ]] && { stack "$clone" clean >/dev/null 2>&1 || echo "clone-test: cleaning $clone failed" >&2; }
  done
  if [[ -n "$C" && -d "$C/.stack/pg/data" ]]; then as_user pg_down >/dev/null 2>&1 || true; fi
  if [[ -n "$C" && -d "$C/.stack/mariadb/data" ]]; then as_user mariadb_down >/dev/null 2>&1 || true; fi
  ((USER_CREATED == 0)) || userdel "$TEST_USER" 2>/dev/null || true
  rm -rf -- "$TMP_A" "$TMP_B" "$TMP_C"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # so a timeout still runs cleanup

started=$SECONDS
# --- A: a clone in a mode-700 folder --------------------------------------------------------
TMP_A="$(mktemp -d)"
A="$TMP_A/nilus-pg"
CLONES+=("$A")
clone_to "$A"
[[ "$(stat -c %a "$TMP_A")" == 700 ]] || fail "mktemp -d gave $(stat -c %a "$TMP_A"), not 700"
stack "$A" up >"$TMP_A/up.out" 2>&1 || { cat "$TMP_A/up.out" >&2; fail "A: up in a mode-700 folder"; }
ok "A: up in a mode-700 folder ($A)"
[[ -L "$A/.stack/pg" ]] || fail "A: .stack/pg is not a symlink"
A_PG="$(readlink "$A/.stack/pg")"
[[ "$A_PG" == "$SERVICE_BASE"/nilus-pg-*/pg && -f "$A_PG/data/PG_VERSION" ]] || fail "A: PostgreSQL's folder is $A_PG"
[[ "$(stat -c %U "$A_PG/data")" == postgres ]] || fail "A: $A_PG/data is not owned by postgres"
ok "A: PostgreSQL's folder is $A_PG, owned by postgres, linked from .stack/pg"
[[ -L "$A/.stack/mariadb" ]] || fail "A: .stack/mariadb is not a symlink"
A_MY="$(readlink "$A/.stack/mariadb")"
[[ "$A_MY" == "$(dirname "$A_PG")/mariadb" && -d "$A_MY/data/mysql" ]] || fail "A: MariaDB's folder is $A_MY"
[[ "$(stat -c %U "$A_MY/data")" == mysql ]] || fail "A: $A_MY/data is not owned by mysql"
[[ "$(stat -c %U "/proc/$(cat "$A_MY/mariadbd.pid")")" == mysql ]] || fail "A: mariadbd does not run as mysql"
ok "A: MariaDB's folder is $A_MY, owned by mysql, linked from .stack/mariadb; mariadbd runs as mysql"
[[ "$(stat -c %a "$TMP_A")" == 700 ]] || fail "A: the permissions of $TMP_A changed"
ok "A: $TMP_A is still mode 700"
pg_answers || fail "A: PostgreSQL does not answer on $PG_PORT"
kafka_answers "$A" || fail "A: Kafka does not answer on $KAFKA_PORT"
mariadb_answers || fail "A: MariaDB does not answer on $MYSQL_PORT"
ok "A: PostgreSQL answers on $PG_PORT, MariaDB on $MYSQL_PORT, Kafka on $KAFKA_PORT"
mariadb_ready_for_cdc || fail "A: MariaDB's binlog settings or the nilus account are not as Debezium needs them"
ok "A: MariaDB has a row-based binlog with full row images and a server id; nilus/nilus logs in"
stack "$A" status >"$TMP_A/status.out" 2>&1 || { cat "$TMP_A/status.out" >&2; fail "A: status"; }
grep -q "^postgresql $A_PG (outside the clone" "$TMP_A/status.out" || { cat "$TMP_A/status.out" >&2; fail "A: status does not name $A_PG"; }
grep -q "^mariadb    $A_MY (outside the clone" "$TMP_A/status.out" || { cat "$TMP_A/status.out" >&2; fail "A: status does not name $A_MY"; }
ok "A: status names PostgreSQL's and MariaDB's folders"

# --- B: a path with a space; first while A holds the ports ------------------------------------
TMP_B="$(mktemp -d)"
chmod 755 "$TMP_B"   # our own test folder: every user may search it
B="$TMP_B/with space/nilus-pg"
CLONES+=("$B")
clone_to "$B"
if NILUS_STACK_PORT_WAIT=1 stack "$B" up >"$TMP_B/busy.out" 2>&1; then
  fail "B: up succeeded although A holds port $PG_PORT"
fi
grep -q "port $PG_PORT (PostgreSQL) is in use.*set NILUS_PG_PORT" "$TMP_B/busy.out" \
  && grep -q "port $MYSQL_PORT (MariaDB) is in use.*set NILUS_MYSQL_PORT" "$TMP_B/busy.out" \
  && grep -q "port $KAFKA_PORT (Kafka) is in use.*set NILUS_KAFKA_PORT" "$TMP_B/busy.out" \
  || { cat "$TMP_B/busy.out" >&2; fail "B: no message naming the busy ports and their variables"; }
[[ ! -e "$B/.stack/pg" && ! -e "$B/.stack/mariadb" ]] || fail "B: up created $B/.stack/pg or $B/.stack/mariadb although its ports were busy"
pg_answers && mariadb_answers && kafka_answers "$A" || fail "A: stopped answering after B's attempt"
ok "B: up on A's ports names each port and its variable, starts nothing, A keeps running"

# --- A: down keeps the data outside, up right after down ----------------------------------------
stack "$A" down >/dev/null 2>&1 || fail "A: down"
! pg_answers && ! port_open "$MYSQL_PORT" && ! port_open "$KAFKA_PORT" || fail "A: still answering after down"
[[ -f "$A_PG/data/PG_VERSION" && -d "$A_MY/data/mysql" ]] || fail "A: down removed $A_PG or $A_MY"
ok "A: down stops PostgreSQL, MariaDB and Kafka and keeps $A_PG and $A_MY"
stack "$A" up >"$TMP_A/up2.out" 2>&1 || { cat "$TMP_A/up2.out" >&2; fail "A: up right after down"; }
pg_answers && mariadb_answers && kafka_answers "$A" || fail "A: not answering after the second up"
[[ "$(readlink "$A/.stack/pg")" == "$A_PG" ]] || fail "A: the second up moved PostgreSQL's folder"
[[ "$(readlink "$A/.stack/mariadb")" == "$A_MY" ]] || fail "A: the second up moved MariaDB's folder"
ok "A: up right after down finds the same folder and answers"
stack "$A" clean >"$TMP_A/clean.out" 2>&1 || { cat "$TMP_A/clean.out" >&2; fail "A: clean"; }
[[ ! -e "$A_PG" && ! -e "$A_MY" && ! -e "$(dirname "$A_PG")" && ! -e "$A/.stack" ]] || fail "A: clean left $A_PG, $A_MY or $A/.stack"
! port_open "$PG_PORT" && ! port_open "$MYSQL_PORT" && ! port_open "$KAFKA_PORT" || fail "A: still answering after clean"
ok "A: clean stops the stack and deletes $A_PG, $A_MY and .stack"

# --- B: up on the freed ports, everything in the clone ------------------------------------------
stack "$B" up >"$TMP_B/up.out" 2>&1 || { cat "$TMP_B/up.out" >&2; fail "B: up in a path with a space"; }
pg_answers && mariadb_answers && kafka_answers "$B" || fail "B: not answering"
mariadb_ready_for_cdc || fail "B: MariaDB's binlog settings or the nilus account are not as Debezium needs them"
ok "B: up in a path with a space ($B)"
[[ -d "$B/.stack/pg/data" && ! -L "$B/.stack/pg" ]] || fail "B: PostgreSQL's folder is not $B/.stack/pg"
[[ -S "$B/.stack/pg/.s.PGSQL.$PG_PORT" ]] || fail "B: no Unix socket in $B/.stack/pg"
[[ "$(psql -h "$B/.stack/pg" -p "$PG_PORT" -U postgres -d nilus_target -Atc 'SELECT 1')" == 1 ]] \
  || fail "B: PostgreSQL does not answer on its socket"
ok "B: PostgreSQL's folder and socket are in $B/.stack/pg"
[[ -d "$B/.stack/mariadb/data/mysql" && ! -L "$B/.stack/mariadb" ]] || fail "B: MariaDB's folder is not $B/.stack/mariadb"
[[ "$(mariadb --no-defaults -S "$B/.stack/mariadb/mariadbd.sock" -u root -N -B -e 'SELECT 1')" == 1 ]] \
  || fail "B: MariaDB does not answer on its socket $B/.stack/mariadb/mariadbd.sock"
ok "B: MariaDB's folder and socket are in $B/.stack/mariadb"
stack "$B" status >"$TMP_B/status.out" 2>&1 || { cat "$TMP_B/status.out" >&2; fail "B: status"; }
grep -qx "postgresql $B/.stack/pg" "$TMP_B/status.out" || { cat "$TMP_B/status.out" >&2; fail "B: status does not name $B/.stack/pg"; }
grep -qx "mariadb    $B/.stack/mariadb" "$TMP_B/status.out" || { cat "$TMP_B/status.out" >&2; fail "B: status does not name $B/.stack/mariadb"; }
ok "B: status names PostgreSQL's and MariaDB's folders"
stack "$B" clean >/dev/null 2>&1 || fail "B: clean"
[[ ! -e "$B/.stack" ]] && ! port_open "$PG_PORT" && ! port_open "$MYSQL_PORT" && ! port_open "$KAFKA_PORT" || fail "B: clean left something"
ok "B: clean stops the stack and deletes .stack"

# --- C: a non-root user who owns the clone --------------------------------------------------
if command -v useradd >/dev/null; then
  if ! id "$TEST_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER"
    USER_CREATED=1
  fi
  TMP_C="$(mktemp -d)"
  C="$TMP_C/nilus-pg"
  git -c safe.directory="*" clone -q -- "$ROOT" "$C"
  chown -R "$TEST_USER:" "$TMP_C"
  as_user pg_up >"$TMP_C/up.out" 2>&1 || { cat "$TMP_C/up.out" >&2; fail "C: pg_up as $TEST_USER"; }
  pg_answers || fail "C: PostgreSQL does not answer"
  [[ "$(stat -c %U "/proc/$(head -n 1 "$C/.stack/pg/data/postmaster.pid")")" == "$TEST_USER" ]] \
    || fail "C: PostgreSQL does not run as $TEST_USER"
  ok "C: $TEST_USER runs PostgreSQL itself, data in $C/.stack/pg"
  as_user pg_down >/dev/null 2>&1 || fail "C: pg_down as $TEST_USER"
  ! pg_answers || fail "C: PostgreSQL still answers after pg_down"
  ok "C: $TEST_USER stops it again"
  as_user mariadb_up >"$TMP_C/mariadb-up.out" 2>&1 || { cat "$TMP_C/mariadb-up.out" >&2; fail "C: mariadb_up as $TEST_USER"; }
  mariadb_answers && mariadb_ready_for_cdc || fail "C: MariaDB does not answer, or not as Debezium needs it"
  [[ "$(stat -c %U "/proc/$(cat "$C/.stack/mariadb/mariadbd.pid")")" == "$TEST_USER" && ! -L "$C/.stack/mariadb" ]] \
    || fail "C: MariaDB does not run as $TEST_USER from $C/.stack/mariadb"
  ok "C: $TEST_USER runs MariaDB itself, data in $C/.stack/mariadb"
  as_user mariadb_down >/dev/null 2>&1 || fail "C: mariadb_down as $TEST_USER"
  ! port_open "$MYSQL_PORT" || fail "C: MariaDB still answers after mariadb_down"
  ok "C: $TEST_USER stops MariaDB again"
else
  echo "skip - C: no useradd on this machine"
fi

echo "clone-test: $CHECKS checks passed in $((SECONDS - started)) s"

#!/usr/bin/env bash
# The local stack works wherever the repository is cloned. Run as root (CI runs it from .ci/run);
# it clones this checkout's HEAD (committed files only) and, on private ports, checks:
#   A  a clone in a `mktemp -d` folder (mode 700, like /root): the postgres OS user cannot reach
#      it, so PostgreSQL's folder lives under /var/lib/nilus-pg-stack/ and .stack/pg links to it;
#      `status` names that folder, `down` keeps it, `up` right after `down` works, `clean`
#      deletes it
#   B  a clone whose path holds a space, under a folder every user can search: PostgreSQL's
#      folder (and its Unix socket) stays in the clone; while A runs on the same ports B's `up`
#      starts nothing and names each busy port and its variable, and A keeps running
#   C  a clone owned by a throw-away non-root user (when useradd exists): that user runs
#      PostgreSQL itself, in the clone, with no root help (PostgreSQL only, through the stack's
#      own functions, as test/helpers/stack-control.ts uses them)
# Each check prints `ok - ...`; the last line is `clone-test: N checks passed` (exit 0) or
# `clone-test: FAIL: ...` (exit 1). Kafka/Connect jars come from NILUS_STACK_CACHE, default this
# checkout's .cache/stack (fetch them first: bash scripts/stack/fetch.sh); node_modules is linked
# from this checkout. Ports: NILUS_CLONE_TEST_PG_PORT (56432), NILUS_CLONE_TEST_KAFKA_PORT
# (19092; the controller uses the next port).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export NILUS_STACK_CACHE="${NILUS_STACK_CACHE:-$ROOT/.cache/stack}"
PG_PORT="${NILUS_CLONE_TEST_PG_PORT:-56432}"
KAFKA_PORT="${NILUS_CLONE_TEST_KAFKA_PORT:-19092}"
CONTROLLER_PORT=$((KAFKA_PORT + 1))
SERVICE_BASE=/var/lib/nilus-pg-stack
TEST_USER=nilus-stack-test
CHECKS=0

fail() { echo "clone-test: FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

[[ "$(id -u)" == 0 ]] || fail "run as root (it checks the hand-over of PostgreSQL to the postgres OS user)"
[[ -d "$ROOT/node_modules/kafkajs" ]] || fail "node_modules missing in $ROOT; run npm ci first"
for port in "$PG_PORT" "$KAFKA_PORT" "$CONTROLLER_PORT"; do
  port_open "$port" && fail "port $port is in use; set NILUS_CLONE_TEST_PG_PORT / NILUS_CLONE_TEST_KAFKA_PORT"
done

# stack CLONE ARGS...: scripts/stack.sh of CLONE with its own state folder and the private ports.
stack() {
  local clone="$1"; shift
  (cd "$clone" && env -u NILUS_STACK_STATE -u NILUS_STACK_SERVICE_DIR -u NILUS_STACK_CONNECT \
    NILUS_PG_PORT="$PG_PORT" NILUS_KAFKA_PORT="$KAFKA_PORT" NILUS_KAFKA_CONTROLLER_PORT="$CONTROLLER_PORT" \
    NILUS_CONNECT_PORT=$((KAFKA_PORT + 2)) bash scripts/stack.sh "$@")
}
pg_answers() { [[ "$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d nilus_target -Atc 'SELECT 1' 2>/dev/null)" == 1 ]]; }
kafka_answers() { node "$1/scripts/stack/probe.js" kafka "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1; }
clone_to() {
  mkdir -p -- "$(dirname -- "$1")"
  git -c safe.directory="*" clone -q -- "$ROOT" "$1"
  ln -s -- "$ROOT/node_modules" "$1/node_modules"
}

# pg_as_user BODY: BODY with the stack's PostgreSQL functions, as the test user in clone C.
pg_as_user() {
  (cd "$C" && runuser -u "$TEST_USER" -- env -u NILUS_STACK_STATE -u NILUS_STACK_SERVICE_DIR \
    NILUS_PG_PORT="$PG_PORT" bash -c 'set -euo pipefail; source scripts/stack/common.sh; source "$STACK_DIR/pg.sh"; '"$1")
}

TMP_A="" TMP_B="" TMP_C="" C="" CLONES=() USER_CREATED=0
cleanup() {
  local rc=$? clone
  for clone in "${CLONES[@]}"; do
    [[ -d "$clone/.stack" || -L "$clone/.stack/pg" ]] && { stack "$clone" clean >/dev/null 2>&1 || echo "clone-test: cleaning $clone failed" >&2; }
  done
  if [[ -n "$C" && -d "$C/.stack/pg/data" ]]; then pg_as_user pg_down >/dev/null 2>&1 || true; fi
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
[[ "$(stat -c %a "$TMP_A")" == 700 ]] || fail "A: the permissions of $TMP_A changed"
ok "A: $TMP_A is still mode 700"
pg_answers || fail "A: PostgreSQL does not answer on $PG_PORT"
kafka_answers "$A" || fail "A: Kafka does not answer on $KAFKA_PORT"
ok "A: PostgreSQL answers on $PG_PORT, Kafka on $KAFKA_PORT"
stack "$A" status >"$TMP_A/status.out" 2>&1 || { cat "$TMP_A/status.out" >&2; fail "A: status"; }
grep -q "^postgresql $A_PG (outside the clone" "$TMP_A/status.out" || { cat "$TMP_A/status.out" >&2; fail "A: status does not name $A_PG"; }
ok "A: status names PostgreSQL's folder"

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
  && grep -q "port $KAFKA_PORT (Kafka) is in use.*set NILUS_KAFKA_PORT" "$TMP_B/busy.out" \
  || { cat "$TMP_B/busy.out" >&2; fail "B: no message naming the busy ports and their variables"; }
[[ ! -e "$B/.stack/pg" ]] || fail "B: up created $B/.stack/pg although its ports were busy"
pg_answers && kafka_answers "$A" || fail "A: stopped answering after B's attempt"
ok "B: up on A's ports names each port and its variable, starts nothing, A keeps running"

# --- A: down keeps the data outside, up right after down ----------------------------------------
stack "$A" down >/dev/null 2>&1 || fail "A: down"
! pg_answers && ! port_open "$KAFKA_PORT" || fail "A: still answering after down"
[[ -f "$A_PG/data/PG_VERSION" ]] || fail "A: down removed $A_PG"
ok "A: down stops PostgreSQL and Kafka and keeps $A_PG"
stack "$A" up >"$TMP_A/up2.out" 2>&1 || { cat "$TMP_A/up2.out" >&2; fail "A: up right after down"; }
pg_answers && kafka_answers "$A" || fail "A: not answering after the second up"
[[ "$(readlink "$A/.stack/pg")" == "$A_PG" ]] || fail "A: the second up moved PostgreSQL's folder"
ok "A: up right after down finds the same folder and answers"
stack "$A" clean >"$TMP_A/clean.out" 2>&1 || { cat "$TMP_A/clean.out" >&2; fail "A: clean"; }
[[ ! -e "$A_PG" && ! -e "$(dirname "$A_PG")" && ! -e "$A/.stack" ]] || fail "A: clean left $A_PG or $A/.stack"
! port_open "$PG_PORT" && ! port_open "$KAFKA_PORT" || fail "A: still answering after clean"
ok "A: clean stops the stack and deletes $A_PG and .stack"

# --- B: up on the freed ports, everything in the clone ------------------------------------------
stack "$B" up >"$TMP_B/up.out" 2>&1 || { cat "$TMP_B/up.out" >&2; fail "B: up in a path with a space"; }
pg_answers && kafka_answers "$B" || fail "B: not answering"
ok "B: up in a path with a space ($B)"
[[ -d "$B/.stack/pg/data" && ! -L "$B/.stack/pg" ]] || fail "B: PostgreSQL's folder is not $B/.stack/pg"
[[ -S "$B/.stack/pg/.s.PGSQL.$PG_PORT" ]] || fail "B: no Unix socket in $B/.stack/pg"
[[ "$(psql -h "$B/.stack/pg" -p "$PG_PORT" -U postgres -d nilus_target -Atc 'SELECT 1')" == 1 ]] \
  || fail "B: PostgreSQL does not answer on its socket"
ok "B: PostgreSQL's folder and socket are in $B/.stack/pg"
stack "$B" status >"$TMP_B/status.out" 2>&1 || { cat "$TMP_B/status.out" >&2; fail "B: status"; }
grep -qx "postgresql $B/.stack/pg" "$TMP_B/status.out" || { cat "$TMP_B/status.out" >&2; fail "B: status does not name $B/.stack/pg"; }
ok "B: status names PostgreSQL's folder"
stack "$B" clean >/dev/null 2>&1 || fail "B: clean"
[[ ! -e "$B/.stack" ]] && ! port_open "$PG_PORT" && ! port_open "$KAFKA_PORT" || fail "B: clean left something"
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
  pg_as_user pg_up >"$TMP_C/up.out" 2>&1 || { cat "$TMP_C/up.out" >&2; fail "C: pg_up as $TEST_USER"; }
  pg_answers || fail "C: PostgreSQL does not answer"
  [[ "$(stat -c %U "/proc/$(head -n 1 "$C/.stack/pg/data/postmaster.pid")")" == "$TEST_USER" ]] \
    || fail "C: PostgreSQL does not run as $TEST_USER"
  ok "C: $TEST_USER runs PostgreSQL itself, data in $C/.stack/pg"
  pg_as_user pg_down >/dev/null 2>&1 || fail "C: pg_down as $TEST_USER"
  ! pg_answers || fail "C: PostgreSQL still answers after pg_down"
  ok "C: $TEST_USER stops it again"
else
  echo "skip - C: no useradd on this machine"
fi

echo "clone-test: $CHECKS checks passed in $((SECONDS - started)) s"

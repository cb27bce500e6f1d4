# Shared helpers for scripts/stack.sh (sourced, not run).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="$ROOT/scripts/stack"
STATE="${NILUS_STACK_STATE:-$ROOT/.stack}"
CACHE="${NILUS_STACK_CACHE:-$ROOT/.cache/stack}"
KAFKA_PORT="${NILUS_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${NILUS_KAFKA_CONTROLLER_PORT:-9093}"
PG_PORT="${NILUS_PG_PORT:-55432}"
CONNECT_PORT="${NILUS_CONNECT_PORT:-8083}"
HOST=127.0.0.1
JAVA_HEAP="${NILUS_STACK_HEAP:--Xmx512m}"

log() { echo "stack: $*"; }
die() { echo "stack: ERROR: $*" >&2; exit 1; }

# Print the end of a log file to stderr, for a component that did not start.
tail_log() {
  local file="$1"
  [[ -f "$file" ]] || return 0
  echo "----- last lines of $file -----" >&2
  tail -n "${2:-40}" "$file" >&2
  echo "-----" >&2
}

# pid_alive PIDFILE -> 0 when the pid in the file is a live process.
pid_alive() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# port_busy PORT -> 0 when something listens on 127.0.0.1:PORT.
port_busy() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Start a detached Java process; the pid file holds the JVM's own pid (bash execs into java),
# so `down` stops exactly this process and nothing else.
start_java() {
  local pidfile="$1" outfile="$2"; shift 2
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" java "$@" >"$outfile" 2>&1 < /dev/null &
  local tries=0
  while [[ ! -s "$pidfile" && $tries -lt 50 ]]; do sleep 0.1; tries=$((tries + 1)); done
}

# stop_pid NAME PIDFILE: TERM, wait up to 60 s, then KILL.
stop_pid() {
  local name="$1" pidfile="$2" pid i
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"; log "$name not running"; return 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored TERM for 60 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "$name stopped (pid $pid)"
}

# wait_node TIMEOUT_S PIDFILE LOGFILE DESCRIPTION SCRIPT ARGS...: run a node probe until it
# exits 0; give up early when the process behind PIDFILE died.
wait_node() {
  local timeout="$1" pidfile="$2" logfile="$3" what="$4"; shift 4
  local deadline=$((SECONDS + timeout))
  until node "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pidfile"; then
      tail_log "${logfile%.log}.out" 20
      tail_log "$logfile"
      die "$what exited during start-up (log: $logfile)"
    fi
    if (( SECONDS >= deadline )); then
      tail_log "$logfile"
      die "$what did not become ready within ${timeout}s (log: $logfile)"
    fi
    sleep 1
  done
}

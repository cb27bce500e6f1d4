# Shared helpers for scripts/stack.sh (sourced, not run).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="$ROOT/scripts/stack"
# Absolute, so the key below and the paths written into generated configs never depend on cwd.
STATE="$(realpath -m -- "${NILUS_STACK_STATE:-$ROOT/.stack}")"
CACHE="${NILUS_STACK_CACHE:-$ROOT/.cache/stack}"
KAFKA_PORT="${NILUS_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${NILUS_KAFKA_CONTROLLER_PORT:-9093}"
PG_PORT="${NILUS_PG_PORT:-55432}"
CONNECT_PORT="${NILUS_CONNECT_PORT:-8083}"
MYSQL_PORT="${NILUS_MYSQL_PORT:-53306}"
HOST=127.0.0.1
JAVA_HEAP="${NILUS_STACK_HEAP:--Xmx512m}"
# Where a service that runs as its own OS user (PostgreSQL as `postgres`, MariaDB as `mysql`, when
# we are root) keeps its data when that user cannot reach $STATE: one folder per state folder,
# named after the clone and keyed by $STATE's absolute path, so two clones never share one.
SERVICE_BASE="$(realpath -m -- "${NILUS_STACK_SERVICE_DIR:-/var/lib/nilus-pg-stack}")"
STATE_KEY="${ROOT##*/}"
STATE_KEY="${STATE_KEY//[^A-Za-z0-9._-]/_}"
STATE_KEY="${STATE_KEY:0:40}-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)"
# Seconds `up` waits for a port that is still held (e.g. by a process the previous `down` ended).
PORT_WAIT="${NILUS_STACK_PORT_WAIT:-10}"

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

# port_holder PORT: "pid N: ...end of its command line" for the process listening on PORT, when
# ss can tell (another user's process only as root); empty otherwise. The end of the command line
# names the config or data folder, so it says which clone's stack holds the port.
port_holder() {
  local pid cmd
  pid="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)" || true
  [[ -n "$pid" ]] || return 0
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || true
  cmd="${cmd% }"
  ((${#cmd} <= 100)) || cmd="$(cat "/proc/$pid/comm" 2>/dev/null) ...${cmd: -80}"
  printf 'pid %s: %s' "$pid" "$cmd"
}

# require_ports "PORT VARIABLE WHAT"...: return when every PORT is free. A port that is still
# held is waited for up to $PORT_WAIT seconds (a broker that `down` just stopped may not have
# let go of it yet); after that, name each busy port, its holder and the variable that moves
# it, and exit without having started anything.
require_ports() {
  local deadline=$((SECONDS + PORT_WAIT)) spec port var what holder suggest="" announced=0 i
  local busy=() taken=("$KAFKA_PORT" "$CONTROLLER_PORT" "$PG_PORT" "$CONNECT_PORT" "$MYSQL_PORT")
  while :; do
    busy=()
    for spec in "$@"; do
      read -r port var what <<<"$spec"
      if port_busy "$port"; then busy+=("$spec"); fi
    done
    ((${#busy[@]} == 0)) && return 0
    ((SECONDS >= deadline)) && break
    if ((announced == 0)); then
      log "port(s) $(for spec in "${busy[@]}"; do printf '%s ' "${spec%% *}"; done)in use; waiting up to ${PORT_WAIT}s for them to be released"
      announced=1
    fi
    sleep 0.5
  done
  for spec in "${busy[@]}"; do
    read -r port var what <<<"$spec"
    holder="$(port_holder "$port")"
    echo "stack: ERROR: port $port ($what) is in use by another process${holder:+ ($holder)}; set $var to move it" >&2
    # Suggest a port that is free and not one this stack already uses or was offered.
    for ((i = port + 1; i < port + 200; i++)); do
      [[ " ${taken[*]} " == *" $i "* ]] && continue
      port_busy "$i" && continue
      taken+=("$i"); suggest+="$var=$i "
      break
    done
  done
  echo "stack: ERROR: nothing was started. Another clone's stack may hold these ports; move this one with e.g. ${suggest% }" >&2
  exit 1
}

# user_can_reach USER DIR -> 0 when OS user USER can open DIR (or, while DIR does not exist yet,
# its nearest existing parent): every directory on the way must grant it search permission.
user_can_reach() {
  local user="$1" dir="$2"
  while [[ ! -e "$dir" && "$dir" != / ]]; do dir="$(dirname -- "$dir")"; done
  runuser -u "$user" -- test -x "$dir" 2>/dev/null
}

# service_home NAME USER: the folder for service NAME (run as OS user USER when we are root).
#   $STATE/NAME is a symlink    -> its target (the decision `up` recorded)
#   $STATE/NAME is a folder     -> that folder
#   $SERVICE_BASE/$STATE_KEY/NAME exists -> that folder ($STATE was deleted by hand)
#   root and USER cannot reach $STATE    -> $SERVICE_BASE/$STATE_KEY/NAME
#   otherwise                   -> $STATE/NAME
service_home() {
  local name="$1" user="$2" outside="$SERVICE_BASE/$STATE_KEY/$1"
  if [[ -L "$STATE/$name" ]]; then readlink -- "$STATE/$name"
  elif [[ -d "$STATE/$name" ]]; then echo "$STATE/$name"
  elif [[ -d "$outside" ]]; then echo "$outside"
  elif [[ "$(id -u)" == 0 ]] && ! user_can_reach "$user" "$STATE"; then echo "$outside"
  else echo "$STATE/$name"
  fi
}

# service_home_prepare NAME USER DIR: create DIR owned by USER; for a folder outside $STATE
# also the parents (mode 755 whatever the umask, so USER can reach DIR) and the symlink
# $STATE/NAME -> DIR, which `status`, `down` and `clean` follow.
service_home_prepare() {
  local name="$1" user="$2" dir="$3"
  if [[ "$dir" != "$STATE/$name" ]]; then
    [[ -d "$SERVICE_BASE" ]] || mkdir -p -- "$SERVICE_BASE"
    chmod 755 -- "$SERVICE_BASE"
    mkdir -p -- "$(dirname -- "$dir")"
    chmod 755 -- "$(dirname -- "$dir")"
    ln -sfn -- "$dir" "$STATE/$name"
  fi
  mkdir -p -- "$dir"
  [[ "$(id -u)" == 0 ]] && chown "$user:" -- "$dir"
  if [[ "$(id -u)" == 0 ]] && ! user_can_reach "$user" "$dir"; then
    die "the $user OS user cannot reach $dir; make its parents searchable or set NILUS_STACK_SERVICE_DIR"
  fi
}

# service_where NAME USER DIR: where service NAME keeps its data, and why when outside $STATE.
service_where() {
  local name="$1" user="$2" dir="$3" why
  [[ "$dir" == "$STATE/$name" ]] && { echo "$dir"; return; }
  why="outside the clone: the $user OS user cannot reach $STATE"
  if [[ -L "$STATE/$name" ]]; then why+="; $STATE/$name links here"
  elif [[ -d "$dir" ]]; then why+="; left after $STATE was deleted: \`up\` starts it afresh unless it still runs"
  fi
  echo "$dir ($why)"
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
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
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

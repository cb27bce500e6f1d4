#!/usr/bin/env bash
# The container test: builds the worker image from Dockerfile with podman and runs it, as a Docker
# user would, against the local stack (scripts/stack.sh up --connect must be running).
#
#   bash scripts/container-test.sh        as root; no stdin needed; run by .ci/run
#
# 1. podman, runc and debootstrap from Debian's packages if missing (scripts/container/podman.sh).
# 2. The base image: no container registry is reachable here, so node:20-slim is replaced by a
#    local one, debootstrap'd Debian bookworm + this machine's Node.js 20, made once and cached in
#    .cache/container/ (scripts/container/base-image.sh).
# 3. podman build of Dockerfile with BASE_IMAGE set to it (npm ci runs inside the build, from the
#    npm registry; the machine's CA bundle is passed as the optional `npm_ca` build secret).
# 4. The demo's pipeline (config/demo/orders-cdc.yaml and connections.yaml, names made unique per
#    run) mounted read-only at /etc/nilus, the container on the host network, and the checks:
#      size     the image size is reported and stays within NILUS_IMAGE_MAX_MB (250)
#      compose  docker-compose.yml is valid against the Compose JSON schema (npm package dclint) and
#               its nilus-pg service has the image's health check, command and /etc/nilus mount
#      user     the image's user and the running worker are not root
#      ready    /readyz answers 200
#      cdc      a Debezium connector on the stack's Connect streams inserts, updates and deletes of
#               a source table in nilus_source; the target table equals the source
#      health   the image's HEALTHCHECK (podman healthcheck run) reports healthy
#      stop     `podman stop` (SIGTERM) ends the worker gracefully: exit code 0
# Everything the run made (container, connector, slot, publication, schemas, topic, consumer
# group, temporary folder) is removed on exit. Exit 0 when every check passed, 1 when one failed,
# 77 when podman cannot be installed or run here (.ci/run reports that as skipped).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/container/podman.sh

IMAGE="${NILUS_CONTAINER_IMAGE:-localhost/nilus-pg:test}"
MAX_MB="${NILUS_IMAGE_MAX_MB:-250}"
DCLINT_VERSION=3.1.0  # npm package with the Compose JSON schema (scripts/container/compose-check.js)
PG_PORT="${NILUS_PG_PORT:-55432}"
KAFKA="127.0.0.1:${NILUS_KAFKA_PORT:-9092}"
CONNECT="http://127.0.0.1:${NILUS_CONNECT_PORT:-8083}"
SRC_URL="postgresql://postgres@127.0.0.1:$PG_PORT/nilus_source"
DST_URL="postgresql://postgres@127.0.0.1:$PG_PORT/nilus_target"
export PGCONNECT_TIMEOUT=10 PGOPTIONS="-c client_min_messages=warning"
T0=$SECONDS

# Unique per run: nothing here collides with the demo, the tests or another run of this script.
ID="c$(date -u +%s | tail -c 7)$$"
SCHEMA="ctest_$ID"                  # source table $SCHEMA.orders, target table $SCHEMA.orders
PREFIX="nilus_ctest_$ID"            # Debezium topic.prefix, slot and publication name
PIPELINE="nilus-ctest-$ID"          # manifest name: consumer group nilus-pg.$PIPELINE
CONNECTOR="nilus-ctest-$ID"
CONTAINER="nilus-ctest-$ID"
TOPIC="$PREFIX.$SCHEMA.orders"

FAILED=()
pass() { clog "PASS $1: $2"; }
fail() { clog "FAIL $1: $2"; FAILED+=("$1"); }
src_sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$SRC_URL" -c "$1"; }
dst_sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$DST_URL" -c "$1"; }
http_status() {
  node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then((r) => console.log(r.status), () => console.log(0))' "$1"
}
# podman 4.3 schedules HEALTHCHECK runs with systemd timers, even with --health-interval disable, and
# says so on every run/stop when there is no systemd; the checks run by hand below instead.
quiet_systemd() { grep -v 'unable to get systemd connection' >&2 || true; }
container_state() { pm inspect --format '{{.State.Status}}' "$CONTAINER" 2>/dev/null || echo gone; }
show_logs() { clog "last lines of the worker's log:"; pm logs --tail 30 "$CONTAINER" >&2 2>&1 || true; }

CONFIG_DIR=""
CONNECTOR_MADE=0
cleanup() {
  local rc=$?
  set +e
  if pm container exists "$CONTAINER" 2>/dev/null; then pm rm -f -t 0 "$CONTAINER" >/dev/null 2>&1; fi
  if ((CONNECTOR_MADE)); then
    node scripts/container/connect.js delete "$CONNECT" "$CONNECTOR"
    # The task lets go of the slot asynchronously after the DELETE; an active slot cannot be dropped.
    local i
    for i in $(seq 1 120); do
      [[ "$(src_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$PREFIX' AND active")" == 0 ]] && break
      sleep 0.5
    done
    src_sql "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$PREFIX'" >/dev/null
    src_sql "DROP PUBLICATION IF EXISTS $PREFIX" >/dev/null
    node scripts/container/connect.js kafka-clean "$KAFKA" "$TOPIC" "nilus-pg.$PIPELINE"
  fi
  src_sql "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
  dst_sql "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
  [[ -n "$CONFIG_DIR" ]] && rm -rf -- "$CONFIG_DIR"
  exit "$rc"
}

main() {
  local rc=0
  ensure_podman || exit $?
  trap cleanup EXIT

  # The stack this test runs against (not started here: it is shared with the tests).
  if ! src_sql 'SELECT 1' >/dev/null || [[ "$(http_status "$CONNECT/connectors")" != 200 ]]; then
    clog "the local stack with Kafka Connect is not running: bash scripts/stack.sh up --connect"
    exit 1
  fi

  local base t
  t=$SECONDS
  base="$(bash scripts/container/base-image.sh)" || { fail base "scripts/container/base-image.sh failed"; exit 1; }
  clog "base image $base ready in $((SECONDS - t)) s"

  t=$SECONDS
  local previous
  previous="$(pm image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
  clog "podman build -t $IMAGE --build-arg BASE_IMAGE=$base ."
  local secret=()
  [[ -s /etc/ssl/certs/ca-certificates.crt ]] && secret=(--secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt)
  # --format docker keeps HEALTHCHECK (the OCI format has no field for it); the build's RUN steps
  # use the host network to reach the npm registry.
  # The build stage is tagged too (its own build, then reused as cache): the stage it replaces can
  # then be pruned by its label instead of piling up untagged.
  if ! { nice -n 10 podman --runtime runc build --quiet --format docker --network host "${secret[@]}" \
    --build-arg "BASE_IMAGE=$base" --target build -t "$IMAGE-build" . &&
    nice -n 10 podman --runtime runc build --quiet --format docker --network host "${secret[@]}" \
      --build-arg "BASE_IMAGE=$base" -t "$IMAGE" .; } >"$CONTAINER_CACHE/build.log" 2>&1; then
    tail -n 40 "$CONTAINER_CACHE/build.log" >&2
    fail build "podman build failed (log: $CONTAINER_CACHE/build.log)"
    exit 1
  fi
  clog "image built in $((SECONDS - t)) s"
  pm image prune -f --filter label=nilus-pg.stage=build >/dev/null 2>&1 || true
  # The image this build replaced (now untagged); its layers the new one shares stay.
  if [[ -n "$previous" && "$previous" != "$(pm image inspect --format '{{.Id}}' "$IMAGE")" ]]; then
    pm rmi "$previous" >/dev/null 2>&1 || true
  fi

  # --- size and user, from the image itself
  local bytes mb user
  bytes="$(pm image inspect --format '{{.Size}}' "$IMAGE")"
  mb=$(((bytes + 999999) / 1000000))
  clog "image size: $mb MB ($bytes bytes; the base image alone: $(($(pm image inspect --format '{{.Size}}' "$base") / 1000000)) MB)"
  if ((mb <= MAX_MB)); then pass size "$mb MB <= $MAX_MB MB"; else fail size "$mb MB > $MAX_MB MB"; fi
  user="$(pm image inspect --format '{{.Config.User}}' "$IMAGE")"
  case "$user" in
    "" | root | 0 | 0:*) fail user "image Config.User is '${user:-unset}' (root)" ;;
  esac

  # --- docker-compose.yml: schema-valid, and its nilus-pg service runs this image the same way
  local dclint="$CONTAINER_CACHE/dclint" have
  have="$(node -p "try { require('$dclint/node_modules/dclint/package.json').version } catch { '' }")"
  if [[ "$have" != "$DCLINT_VERSION" ]]; then
    mkdir -p "$dclint"
    npm install --prefix "$dclint" --no-save --no-audit --no-fund --loglevel=error "dclint@$DCLINT_VERSION" \
      </dev/null >"$CONTAINER_CACHE/dclint.log" 2>&1 || { tail -n 5 "$CONTAINER_CACHE/dclint.log" >&2; }
  fi
  pm image inspect "$IMAGE" >"$CONTAINER_CACHE/image-inspect.json"
  local out
  if out="$(node scripts/container/compose-check.js "$dclint" docker-compose.yml "$CONTAINER_CACHE/image-inspect.json" 2>&1)"; then
    pass compose "docker-compose.yml $out"
  else
    fail compose "docker-compose.yml: $out"
  fi

  # --- the source table and the Debezium connector, as scripts/demo.ts sets them up
  src_sql "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA;
    CREATE TABLE $SCHEMA.orders (id bigint PRIMARY KEY, status text NOT NULL, amount numeric(12,2), updated_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO $SCHEMA.orders (id, status, amount) SELECT g, 'new', g * 1.5 FROM generate_series(1, 1000) g;"
  dst_sql "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA;"
  clog "registering Debezium connector $CONNECTOR (topic.prefix $PREFIX, table $SCHEMA.orders)"
  CONNECTOR_MADE=1
  node scripts/container/connect.js register "$CONNECT" "$CONNECTOR" "$(cat <<JSON
{"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "1",
 "database.hostname": "127.0.0.1", "database.port": "$PG_PORT", "database.user": "postgres",
 "database.password": "", "database.dbname": "nilus_source", "topic.prefix": "$PREFIX",
 "table.include.list": "$SCHEMA.orders", "plugin.name": "pgoutput", "slot.name": "$PREFIX",
 "publication.name": "$PREFIX", "publication.autocreate.mode": "filtered"}
JSON
  )"

  # --- the demo's manifest and connections, with this run's names and a free HTTP port. The demo's
  # source is managed (nilus-pg would create its own connector); here the test registered the
  # connector above, so the worker reads the topics through the Kafka connection, as users who run
  # their own connectors do.
  local port
  port="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
  CONFIG_DIR="$(mktemp -d)"
  sed -e "s/^name: orders-demo\$/name: $PIPELINE/" \
    -e "s/topic.prefix: orders_cdc\$/topic.prefix: $PREFIX/" \
    -e "s/\"retail.orders\"/\"$SCHEMA.orders\"/" \
    -e "s/dest_table: analytics.orders\$/dest_table: $SCHEMA.orders/" \
    -e "s|address: dataos://postgres-source\$|address: dataos://kafka-local|" \
    -e "s/^\( *\)batch.max_age_ms: \(.*\)\$/\1batch.max_age_ms: \2\n\1http_port: $port/" \
    config/demo/orders-cdc.yaml >"$CONFIG_DIR/manifest.yaml"
  cp config/demo/connections.yaml "$CONFIG_DIR/connections.yaml"
  local want
  for want in "name: $PIPELINE" "topic.prefix: $PREFIX" "\"$SCHEMA.orders\"" "dest_table: $SCHEMA.orders" "http_port: $port" "address: dataos://kafka-local"; do
    grep -qF "$want" "$CONFIG_DIR/manifest.yaml" || { clog "config/demo/orders-cdc.yaml changed: no '$want' after renaming"; exit 1; }
  done
  # The worker runs as uid 1000 and reads the mount.
  chmod 755 "$CONFIG_DIR" && chmod 644 "$CONFIG_DIR"/*.yaml

  # --- run it as a user would: the default command, config at /etc/nilus, read-only
  # --health-interval disable: no systemd here to run the health check on a timer; it is run
  # below with `podman healthcheck run`.
  pm run -d --name "$CONTAINER" --network host --health-interval disable \
    -v "$CONFIG_DIR:/etc/nilus:ro" \
    -e NILUS_DEMO_PG_PORT="$PG_PORT" -e NILUS_DEMO_KAFKA="$KAFKA" -e NILUS_DEMO_CONNECT="$CONNECT" -e NILUS_HEALTH_PORT="$port" \
    "$IMAGE" >/dev/null 2> >(quiet_systemd)
  clog "container $CONTAINER started (health port $port)"

  local uid
  uid="$(pm exec "$CONTAINER" id -u 2>/dev/null || echo '?')"
  if [[ "$uid" =~ ^[0-9]+$ ]] && ((uid != 0)); then pass user "image user '$user', worker runs as uid $uid"; else fail user "worker runs as uid '$uid'"; fi

  # --- /readyz
  local ready=0 status i
  for i in $(seq 1 120); do
    status="$(http_status "http://127.0.0.1:$port/readyz")"
    [[ "$status" == 200 ]] && { ready=1; break; }
    [[ "$(container_state)" == running ]] || break
    sleep 1
  done
  if ((ready)); then pass ready "/readyz 200 after ${i} s"; else
    fail ready "/readyz answered '$status'; container $(container_state)"
    show_logs
    exit 1
  fi

  # --- Debezium events applied: a workload of inserts, updates and deletes, then target = source
  local round
  for round in 1 2 3 4 5; do
    src_sql "INSERT INTO $SCHEMA.orders (id, status, amount) SELECT 1000 * $round + g + 1000, 'new', g FROM generate_series(1, 200) g;
      UPDATE $SCHEMA.orders SET status = 'paid', amount = amount + 1, updated_at = now() WHERE id % 17 = $round % 17;
      DELETE FROM $SCHEMA.orders WHERE id % 101 = $round % 101;"
    sleep 1
  done
  local canon="SELECT count(*)::int || ' ' || coalesce(md5(string_agg(format('%s|%s|%s|%s', id, status, amount, updated_at), ',' ORDER BY id)), '') FROM $SCHEMA.orders"
  local s d="" equal=0
  s="$(src_sql "$canon")"
  for i in $(seq 1 90); do
    d="$(dst_sql "$canon" 2>/dev/null || echo 'no table')"
    [[ "$d" == "$s" ]] && { equal=1; break; }
    [[ "$(container_state)" == running ]] || break
    sleep 1
  done
  if ((equal)); then pass cdc "target $SCHEMA.orders equals source ($s)"; else
    fail cdc "target '$d' != source '$s' after 90 s"
    show_logs
  fi

  # --- the image's HEALTHCHECK
  local health
  health="$(pm healthcheck run "$CONTAINER" 2> >(quiet_systemd))" && pass health "podman healthcheck run: ${health:-healthy}" ||
    fail health "podman healthcheck run: $health"

  # --- graceful stop
  t=$SECONDS
  pm stop -t 30 "$CONTAINER" >/dev/null 2> >(quiet_systemd)
  local code
  code="$(pm inspect --format '{{.State.ExitCode}}' "$CONTAINER")"
  if [[ "$code" == 0 ]] && pm logs "$CONTAINER" 2>&1 | grep -c 'stopping: flushing' >/dev/null; then
    pass stop "podman stop: exit code 0 after $((SECONDS - t)) s, the worker logged its graceful stop"
  else
    fail stop "podman stop: exit code $code after $((SECONDS - t)) s"
    show_logs
  fi

  if ((${#FAILED[@]} > 0)); then
    clog "container test FAILED (${FAILED[*]}) in $((SECONDS - T0)) s"
    rc=1
  else
    clog "container test passed in $((SECONDS - T0)) s: image $IMAGE, $mb MB"
  fi
  return "$rc"
}

main "$@"

# Sourced by scripts/container-test.sh and scripts/container/base-image.sh: podman as it runs on
# these machines (no Docker engine, no container registry).
#
# - Debian's podman 4.3 with runc: Debian's default runtime crun fails here ("cgroups in hybrid
#   mode not supported").
# - A containers.conf with `default_ulimits = []` (otherwise the runtime fails on setrlimit
#   RLIMIT_NPROC) and the cgroupfs cgroup manager (no systemd), pointed to by CONTAINERS_CONF.
#
# ensure_podman installs what is missing (as root, from Debian's packages) and returns
# CONTAINER_SKIP (77) with the reason on stderr when that is impossible; pm runs podman.
CONTAINER_SKIP=77
CONTAINER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONTAINER_CACHE="${NILUS_CONTAINER_CACHE:-$CONTAINER_ROOT/.cache/container}"  # git-ignored

clog() { printf '[container %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

ensure_podman() {
  if [[ "$(uname -s)" != Linux ]]; then clog "SKIP: podman needs Linux"; return "$CONTAINER_SKIP"; fi
  if [[ "$(id -u)" != 0 ]]; then
    clog "SKIP: the container test runs rootful podman and debootstrap: run it as root"
    return "$CONTAINER_SKIP"
  fi
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # podman's Debian dependencies; named so a --no-install-recommends install still has them.
  command -v newuidmap >/dev/null || missing+=(uidmap)
  command -v slirp4netns >/dev/null || missing+=(slirp4netns)
  command -v fuse-overlayfs >/dev/null || missing+=(fuse-overlayfs)
  command -v psql >/dev/null || missing+=(postgresql-client)
  if ((${#missing[@]} > 0)); then
    if ! command -v apt-get >/dev/null; then
      clog "SKIP: ${missing[*]} missing and no apt-get to install them"
      return "$CONTAINER_SKIP"
    fi
    clog "installing ${missing[*]} (Debian packages)"
    mkdir -p "$CONTAINER_CACHE"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      </dev/null >"$CONTAINER_CACHE/apt.log" 2>&1; then
      tail -n 10 "$CONTAINER_CACHE/apt.log" >&2
      clog "SKIP: apt-get could not install ${missing[*]}"
      return "$CONTAINER_SKIP"
    fi
  fi
  mkdir -p "$CONTAINER_CACHE"
  cat >"$CONTAINER_CACHE/containers.conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  export CONTAINERS_CONF="$CONTAINER_CACHE/containers.conf"
  if ! pm info >/dev/null 2>"$CONTAINER_CACHE/podman-info.err"; then
    clog "SKIP: podman is installed but does not work here: $(tail -n 3 "$CONTAINER_CACHE/podman-info.err")"
    return "$CONTAINER_SKIP"
  fi
}

pm() { podman --runtime runc "$@"; }

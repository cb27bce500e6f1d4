#!/usr/bin/env bash
# Makes the local base image the container test builds on, in place of node:20-slim (no container
# registry is reachable here): a minimal Debian bookworm from Debian's mirror (debootstrap
# --variant=minbase) plus this machine's Node.js 20 and npm, with a `node` user (uid 1000) as in
# the official image, imported into podman.
#
# The image tarball is cached in .cache/container/ (git-ignored) under a key made of its inputs
# (suite, mirror, the node binary's sha256, npm's version, this script): a rerun or a CI run with
# the cache reuses it and an image podman already holds is not imported again.
#
#   bash scripts/container/base-image.sh     prints the image name (localhost/nilus-pg-base:<key>)
#
# NILUS_DEBIAN_MIRROR overrides the mirror (default: the first Debian URI in /etc/apt/sources*).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/podman.sh"

SUITE=bookworm

debian_mirror() {
  if [[ -n "${NILUS_DEBIAN_MIRROR:-}" ]]; then echo "$NILUS_DEBIAN_MIRROR"; return; fi
  local uri
  uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ' || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

main() {
  ensure_podman
  local node npm_dir mirror key image tarball
  node="$(readlink -f "$(command -v node)")" || { clog "node not found"; exit 1; }
  [[ "$("$node" -v)" == v20.* ]] || { clog "node $("$node" -v) is not Node.js 20"; exit 1; }
  npm_dir="$(readlink -f "$(dirname "$node")/../lib/node_modules/npm")"
  [[ -f "$npm_dir/bin/npm-cli.js" ]] || { clog "npm not found next to $node"; exit 1; }
  mirror="$(debian_mirror)"
  key="$({
    echo "$SUITE $mirror"
    sha256sum <"$node"
    node -p "require('$npm_dir/package.json').version"
    sha256sum <"${BASH_SOURCE[0]}"
  } | sha256sum | cut -c1-16)"
  image="localhost/nilus-pg-base:$key"
  tarball="$CONTAINER_CACHE/base-$key.tar"

  if pm image exists "$image"; then
    clog "base image $image already in podman"
  else
    if [[ -s "$tarball" ]]; then
      clog "base image tarball cached: $tarball"
    else
      make_rootfs "$node" "$npm_dir" "$mirror" "$tarball"
    fi
    clog "podman import $tarball as $image"
    pm import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' \
      --message "debootstrap $SUITE minbase + node $("$node" -v)" \
      "$tarball" "$image" >/dev/null
  fi
  echo "$image"
}

make_rootfs() {
  local node="$1" npm_dir="$2" mirror="$3" tarball="$4"
  local work root
  work="$(mktemp -d "$CONTAINER_CACHE/rootfs.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf -- '$work'" EXIT
  root="$work/root"
  clog "debootstrap --variant=minbase $SUITE from $mirror (about 30 s)"
  if ! debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" >&2
    clog "debootstrap failed"
    exit 1
  fi
  install -m 0755 "$node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The official image's unprivileged user.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  # What node links against must be in the image (libstdc++, libgcc_s and libc are in minbase).
  local lib
  for lib in $(ldd "$node" | grep -oE '/[^ ]+\.so[^ ]*'); do
    [[ -e "$root$lib" ]] || { clog "node needs $lib, which the base lacks"; exit 1; }
  done
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$root" /usr/local/bin/node -e 'require("node:zlib"); require("node:crypto")'
  # Only what a runtime needs: no package lists, caches, docs or locales.
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/* \
    "$root"/etc/resolv.conf "$root"/etc/hostname
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  # Tarballs of earlier inputs (another node, another version of this script) are not reused.
  find "$CONTAINER_CACHE" -maxdepth 1 -name 'base-*.tar' ! -path "$tarball" -delete
  clog "base rootfs $(du -sh "$root" | cut -f1) -> $tarball"
  rm -rf -- "$work"
  trap - EXIT
}

main "$@"

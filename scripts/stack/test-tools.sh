# Tools the tests run that the stack itself does not need, from Debian's packages; sourced by
# scripts/stack.sh, whose `up` runs before `npm test` (the README's quick start):
#  - promtool (Debian's prometheus package), for the alert-rule tests
#    (test/unit/observe/alert-rules.test.ts runs `promtool check rules` and `promtool test rules` on
#    deploy/prometheus/); the Prometheus server that package may start on 9090 is stopped and
#    disabled: nothing here uses it.
#  - kubectl (Debian's kubernetes-client package), for the Kubernetes objects' test
#    (test/unit/deploy/kubernetes.test.ts renders deploy/kubernetes/ with `kubectl kustomize`).

# tool_ensure CMD PACKAGE WHO: install PACKAGE when CMD is missing and we are root with apt-get.
# Returns 0 when it installed it now, 1 when CMD was there already, 2 (after saying what WHO needs)
# when it could not; the stack starts either way.
tool_ensure() {
  local cmd="$1" package="$2" who="$3"
  command -v "$cmd" >/dev/null && return 1
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "$cmd missing; installing Debian's $package package ($who uses $cmd)"
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" </dev/null; then
      return 0
    fi
  fi
  log "WARNING: $cmd not found; $who needs it: apt-get update && apt-get install -y $package" >&2
  return 2
}

# promtool_stop_packaged_server: stop and disable the server Debian's prometheus package starts.
promtool_stop_packaged_server() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/prometheus ]]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
}

# test_tools_ensure: promtool and kubectl, each installed when missing and root can.
test_tools_ensure() {
  if tool_ensure promtool prometheus "the alert-rule tests"; then promtool_stop_packaged_server; fi
  tool_ensure kubectl kubernetes-client "the Kubernetes objects' test" || true
}

# promtool, for the alert-rule tests (test/unit/observe/alert-rules.test.ts runs `promtool check
# rules` and `promtool test rules` on deploy/prometheus/); sourced by scripts/stack.sh. It comes
# with Debian's prometheus package, installed here when root can; the Prometheus server that
# package may start on 9090 is stopped and disabled: nothing here uses it.

# promtool_stop_packaged_server: stop and disable the server Debian's prometheus package starts.
promtool_stop_packaged_server() {
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/prometheus ]]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
}

# promtool_ensure: install Debian's prometheus package when promtool is missing and we are root
# with apt-get; otherwise only say what the alert-rule tests need (the stack itself does not).
promtool_ensure() {
  command -v promtool >/dev/null && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "promtool missing; installing Debian's prometheus package (the alert-rule tests use promtool)"
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus </dev/null; then
      promtool_stop_packaged_server
      return 0
    fi
  fi
  log "WARNING: promtool not found; the alert-rule tests need it: apt-get update && apt-get install -y prometheus" >&2
}

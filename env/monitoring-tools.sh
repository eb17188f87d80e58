#!/usr/bin/env bash
# Installs (once) what the chart and alert tests need besides the control plane:
#   - prometheus and promtool from Debian's `prometheus` package, unpacked with
#     `apt-get download` + `dpkg -x` (nothing is installed system-wide);
#   - the monitoring.coreos.com CRDs (ServiceMonitor, PrometheusRule) from the
#     prometheus-operator Go module, read from the module cache.
# Everything lands in the cache directory, outside the repository, so a second
# run only checks that the files exist.
#
# Honoured overrides: PROMETHEUS_BIN, PROMTOOL_BIN, PROMETHEUS_OPERATOR_CRDS (a
# folder holding monitoring.coreos.com_*.yaml).
#
# Prints progress on stderr; `monitoring-tools.sh --print-env` prints the
# resolved paths as shell assignments.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

CACHE=${LDPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/log-destination-policy-controller}
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-mod=mod GOTOOLCHAIN=local
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}

log() { echo "[monitoring-tools] $*" >&2; }

# Debian keeps only the current build of a package in its archive, so the
# version is whatever apt offers on the first run; the unpacked copy is reused
# after that.
install_prometheus() {
  local root="$CACHE/prometheus"
  if [ ! -x "$root/current/usr/bin/promtool" ] || [ ! -x "$root/current/usr/bin/prometheus" ]; then
    local candidate
    candidate=$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      log "apt has no package list for prometheus yet; running apt-get update"
      apt-get update -qq >&2
      candidate=$(apt-cache policy prometheus | awk '/Candidate:/ {print $2}')
    fi
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ] || {
      log "Debian's prometheus package is not available"
      exit 1
    }
    local tmp
    tmp=$(mktemp -d)
    # apt's sandbox user cannot write into a root-owned mktemp dir.
    chmod 0777 "$tmp"
    log "downloading Debian prometheus $candidate into $root"
    if ! (cd "$tmp" && apt-get download -q "prometheus=$candidate" >&2); then
      # A stale package list names a build the archive no longer has.
      log "download failed; refreshing the package lists and trying again"
      apt-get update -qq >&2
      candidate=$(apt-cache policy prometheus | awk '/Candidate:/ {print $2}')
      (cd "$tmp" && apt-get download -q "prometheus=$candidate" >&2)
    fi
    rm -rf "$root/$candidate"
    mkdir -p "$root/$candidate"
    dpkg -x "$tmp"/prometheus_*.deb "$root/$candidate"
    rm -rf "$tmp"
    ln -sfn "$candidate" "$root/current"
  fi
  PROMETHEUS_BIN=${PROMETHEUS_BIN:-$root/current/usr/bin/prometheus}
  PROMTOOL_BIN=${PROMTOOL_BIN:-$root/current/usr/bin/promtool}
}

install_operator_crds() {
  local dir
  dir="$GOMODCACHE/github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION/example/prometheus-operator-crd"
  if [ ! -f "$dir/monitoring.coreos.com_servicemonitors.yaml" ]; then
    log "downloading github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION for its CRDs"
    (cd "$CACHE" && go mod download "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
  fi
  PROMETHEUS_OPERATOR_CRDS=$dir
}

only=${1:-all}
case "$only" in
  --print-env | all) ;;
  *) echo "usage: monitoring-tools.sh [--print-env]" >&2; exit 2 ;;
esac

if [ -z "${PROMETHEUS_BIN:-}" ] || [ -z "${PROMTOOL_BIN:-}" ]; then install_prometheus; fi
if [ -z "${PROMETHEUS_OPERATOR_CRDS:-}" ]; then install_operator_crds; fi

if [ "$only" = --print-env ]; then
  printf 'PROMETHEUS_BIN=%q\nPROMTOOL_BIN=%q\nPROMETHEUS_OPERATOR_CRDS=%q\n' \
    "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$PROMETHEUS_OPERATOR_CRDS"
else
  log "ready: $PROMETHEUS_BIN $PROMTOOL_BIN $PROMETHEUS_OPERATOR_CRDS"
fi

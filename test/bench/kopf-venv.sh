#!/usr/bin/env bash
# Installs (once) kopf and boto3 into a virtualenv in the cache directory, keyed
# by version, for the benchmark's comparison operator; prints its python.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../env/versions.env
. "$here/../../env/versions.env"
CACHE=${LDPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/log-destination-policy-controller}
venv="$CACHE/venv/kopf-$KOPF_VERSION-boto3-$BOTO3_VERSION"
if [ ! -f "$venv/.ready" ]; then
  echo "[bench] installing kopf==$KOPF_VERSION boto3==$BOTO3_VERSION into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kopf==$KOPF_VERSION" "boto3==$BOTO3_VERSION" >&2
  touch "$venv/.ready"
fi
echo "$venv/bin/python"

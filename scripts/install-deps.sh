#!/usr/bin/env bash
# Installs what building and testing MCP Conductor needs on a fresh Debian machine with Swift 6.3:
# the C libraries (libcurl with HTTP/2 through nghttp2, for the Kubernetes client) and the Python
# packages the end-to-end tests use. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libcurl4-openssl-dev libnghttp2-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if ! python3 -c "import httpx, h2, yaml, hypothesis, pytest, celpy, mcp, mcp_server_time" >/dev/null 2>&1; then
  python3 -m pip install -q -r Tests/e2e/requirements.txt
fi
command -v kubectl >/dev/null || echo "note: kubectl is not installed; the kubectl end-to-end tests will fail" >&2

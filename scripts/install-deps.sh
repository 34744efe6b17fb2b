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

if ! python3 -c "import httpx, h2, yaml, hypothesis, pytest, celpy, mcp, mcp_server_time, kubernetes_validate" >/dev/null 2>&1; then
  python3 -m pip install -q -r Tests/e2e/requirements.txt
fi
# 2025-11-25 Tasks are tested with the SDK 1.x (Tests/e2e/mcp1_tasks.py), which cannot live beside 2.x: a venv of its own.
mcp1=Tests/e2e/.venv-mcp1
if [[ "$("$mcp1/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null)" != "1.30.0" ]]; then
  python3 -m venv "$mcp1"
  "$mcp1/bin/python" -m pip install -q -r Tests/e2e/requirements-mcp1.txt
fi
command -v kubectl >/dev/null || echo "note: kubectl is not installed; the kubectl end-to-end tests will fail" >&2

#!/usr/bin/env bash
# `make dev`: conductor dev (the local API server with the CRDs, the controller and the MCP front end, as the
# controller's service account) and two example agents: echo (a command executor running examples/echo.py) and time (the mcp
# executor fronting the reference server mcp-server-time). Ctrl-C stops them all: the agents drain first.
set -euo pipefail
cd "$(dirname "$0")/.."
conductor=./.build/debug/conductor
data=${CONDUCTOR_DATA_DIR:-conductor-data}
health=${CONDUCTOR_HEALTH_PORT:-8081}

# Each in a session of its own, so that Ctrl-C reaches this script alone, which stops the agents (they drain
# and deregister) before the API server they talk to.
setsid "$conductor" dev --data-dir "$data" --health-port "$health" &
dev=$!
agents=()
stop() {
  trap - INT TERM EXIT
  for pid in "${agents[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${agents[@]}"; do wait "$pid" 2>/dev/null || true; done
  kill -TERM "$dev" 2>/dev/null || true
  wait "$dev" 2>/dev/null || true
}
trap stop INT TERM EXIT

# The controller answers /readyz once the CRDs are installed and its caches synced.
for _ in $(seq 1 300); do
  kill -0 "$dev" 2>/dev/null || { echo "conductor dev exited" >&2; exit 1; }
  if [[ -f "$data/kubeconfig" ]] && curl -fsS "http://127.0.0.1:$health/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done

port=$((health + 1))
for config in examples/agents/echo.yaml examples/agents/time.yaml; do
  # As the agents' service account (conductor dev issues its token), under the roles of deploy/rbac.
  setsid "$conductor" agent --config "$config" --kubeconfig "$data/agent-kubeconfig" --health-bind 127.0.0.1 --health-port "$port" &
  agents+=($!)
  port=$((port + 1))
done
echo "conductor dev and the example agents (echo, time) are running; kubectl --kubeconfig $data/kubeconfig get agents -n mcp-system" >&2
wait "$dev"

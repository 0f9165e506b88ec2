#!/usr/bin/env bash
# A scripted curl session against `pt-operator emulator`: create -> IN_PROGRESS -> READY, a 409 during
# an update, a 404 body, a GPU-capacity failure with the old config still serving, and a 429 once the
# workspace's create/update budget is spent. The clock is frozen (--speed 0) and moved by hand through
# the inspection API, so the transcript is the same on every run. Needs curl and jq.
# Usage: src/emulator/demo-transcript.sh [port]
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT="${1:-18765}"
BASE="http://127.0.0.1:${PORT}"
AUTH="Authorization: Bearer dapi-demo-token"
LLAMA=system.ai.meta_llama_v3_1_8b_instruct

node_modules/.bin/tsx src/main.ts emulator --port "$PORT" --speed 0 --quiet >/dev/null &
EMULATOR_PID=$!
trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$BASE/__emulator/clock" >/dev/null && break; sleep 0.1; done

# call METHOD PATH [BODY] [JQ-FILTER]: prints the request, the status line and the (filtered) body.
call() {
  local method=$1 path=$2 body=${3:-} filter=${4:-.}
  echo "\$ curl -X $method $path${body:+ -d '$body'}"
  local args=(-s -D /tmp/pt-demo-headers.$$ -X "$method" -H "$AUTH" "$BASE$path")
  [[ -n $body ]] && args+=(-d "$body")
  local out
  out=$(curl "${args[@]}")
  head -1 /tmp/pt-demo-headers.$$ | tr -d '\r'
  grep -i '^retry-after' /tmp/pt-demo-headers.$$ | tr -d '\r' || true
  echo "$out" | jq -c "$filter"
  echo
}
advance() {
  echo "# advance the virtual clock by $1 s"
  curl -s -X POST "$BASE/__emulator/clock" -d "{\"advanceSeconds\":$1}" | jq -c '{speed}'
  echo
}
summary='{state, config: (if .config then {config_version: .config.config_version, serving: [.config.served_entities[] | {name, max_provisioned_throughput, deployment: .state.deployment}]} else null end), pending_config: (if .pending_config then {config_version: .pending_config.config_version, entities: [.pending_config.served_entities[] | {max_provisioned_throughput, state}]} else null end)}'

echo "## 1. create -> IN_PROGRESS -> READY"
call GET "/api/2.0/serving-endpoints/get-model-optimization-info/$LLAMA/3"
call POST /api/2.0/serving-endpoints "{\"name\":\"llama-demo\",\"config\":{\"served_entities\":[{\"entity_name\":\"$LLAMA\",\"entity_version\":\"3\",\"min_provisioned_throughput\":0,\"max_provisioned_throughput\":980}]}}"
advance 300
call GET /api/2.0/serving-endpoints/llama-demo "" "$summary"
advance 300
call GET /api/2.0/serving-endpoints/llama-demo "" "$summary"

echo "## 2. an update keeps the old config serving; a second update meanwhile gets 409"
call PUT /api/2.0/serving-endpoints/llama-demo/config "{\"served_entities\":[{\"entity_name\":\"$LLAMA\",\"entity_version\":\"3\",\"min_provisioned_throughput\":0,\"max_provisioned_throughput\":1960}]}" "$summary"
call PUT /api/2.0/serving-endpoints/llama-demo/config "{\"served_entities\":[{\"entity_name\":\"$LLAMA\",\"entity_version\":\"3\",\"min_provisioned_throughput\":0,\"max_provisioned_throughput\":2940}]}"
advance 600
call GET /api/2.0/serving-endpoints/llama-demo "" "$summary"

echo "## 3. a missing endpoint"
call GET /api/2.0/serving-endpoints/no-such-endpoint

echo "## 4. GPU capacity shortage: IN_PROGRESS for the rollout time, then UPDATE_FAILED; the old config still serves"
echo "# inject: capacity shortage for $LLAMA, one attempt"
curl -s -X POST "$BASE/__emulator/faults" -d "{\"type\":\"capacity\",\"model\":\"$LLAMA\",\"attempts\":1}" | jq -c '.faults[] | {id, spec}'
echo
call PUT /api/2.0/serving-endpoints/llama-demo/config "{\"served_entities\":[{\"entity_name\":\"$LLAMA\",\"entity_version\":\"3\",\"min_provisioned_throughput\":0,\"max_provisioned_throughput\":2940}]}" "$summary"
advance 300
call GET /api/2.0/serving-endpoints/llama-demo "" "$summary"
advance 300
call GET /api/2.0/serving-endpoints/llama-demo "" "$summary"

echo "## 5. the workspace limit: 50 create/update operations per 5 minutes"
echo "# budget so far: $(curl -s "$BASE/__emulator/state" | jq -c .budget)"
accepted=0
while :; do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" "$BASE/api/2.0/serving-endpoints" -d "{\"name\":\"bulk-$accepted\"}")
  [[ $status == 200 ]] || break
  accepted=$((accepted + 1))
done
echo "# $accepted more creates accepted, then:"
call POST /api/2.0/serving-endpoints '{"name":"one-too-many"}'

echo "## call log counts for llama-demo"
curl -s "$BASE/__emulator/calls?endpoint=llama-demo" | jq -c '.counts | {total, byOperation, byStatus}'
rm -f /tmp/pt-demo-headers.$$

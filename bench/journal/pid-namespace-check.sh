#!/usr/bin/env bash
# A Redis lease held in one PID namespace, tried from another on the same host (same hostname),
# as containers with host networking see each other: run for real with `unshare`, which needs
# root or user namespaces (not asked of CI; tests write such leases by hand).
#   bash bench/journal/pid-namespace-check.sh [OUT_DIR]   (after npm run build; Redis on 127.0.0.1)
# Each case prints one JSON line; PASS when every live holder was refused and named as in
# another PID namespace, a holder killed in this namespace was taken over at once, and two
# agents left to their default names (<hostname>-<pid>, both PID 1) registered under two names.
set -u
cd "$(dirname "$0")/../.."
out=${1:-}
probe=bench/journal/lease-probe.mjs
key="gpupool-pidns-check:$$"
# A command, not a function: `$ns cmd &` makes $! unshare itself, whose death SIGKILLs the child
# (a PID 1 ignores signals it has no handler for).
ns="unshare --pid --fork --kill-child --mount-proc"
fail=0
report() { echo "$1"; [ -n "$out" ] && echo "$1" >> "$out/pid-namespace-check.jsonl"; }
[ -n "$out" ] && mkdir -p "$out" && : > "$out/pid-namespace-check.jsonl"

wait_held() { for _ in $(seq 100); do grep -q held "$1" && return 0; sleep 0.1; done; return 1; }

case_of() { # name, holder command prefix, trier command prefix
  local name=$1 holder=$2 trier=$3 log; log=$(mktemp)
  $holder node $probe hold "$key:$name" > "$log" 2>&1 &
  local pid=$!
  wait_held "$log" || { echo "holder did not start: $(cat "$log")"; fail=1; return; }
  local got; got=$($trier node $probe try "$key:$name")
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null  # unshare blocks SIGTERM while it waits
  local verdict=FAIL
  if echo "$got" | grep -q '"refused".*in another PID namespace'; then verdict=PASS; else fail=1; fi
  report "{\"case\":\"$name\",\"holder\":$(head -1 "$log"),\"try\":$got,\"verdict\":\"$verdict\"}"
  rm -f "$log"
  redis-cli del "$key:$name" > /dev/null
}

# The host holds; a "container" (new PID namespace, where the host's PID does not exist) tries.
case_of host-holds-container-tries "" "$ns"
# A container holds (its PID is small: 1 or 2, which exist on the host as other processes); the host tries.
case_of container-holds-host-tries "$ns" ""
# Two containers: both see their own PID 1.
case_of container-holds-container-tries "$ns" "$ns"

# Killed in this namespace: taken over at once (no wait for the 30 s TTL).
log=$(mktemp)
node $probe hold "$key:killed" > "$log" 2>&1 &
pid=$!
wait_held "$log"
kill -9 $pid; wait $pid 2>/dev/null
got=$(node $probe try "$key:killed")
verdict=FAIL
if echo "$got" | grep -q '"took"' && echo "$got" | grep -q "\"from\":{\"pid\":$pid"; then verdict=PASS; else fail=1; fi
report "{\"case\":\"killed-here-taken-over\",\"holder\":$(head -1 "$log"),\"try\":$got,\"verdict\":\"$verdict\"}"
rm -f "$log"; redis-cli del "$key:killed" > /dev/null
# Two agents with default names, each PID 1 in its own namespace: two names, not one.
prefix="gpupool-pidns-agents-$$"
for i in 1 2; do
  alog=$(mktemp)
  $ns node dist/cli/main.js agent -c examples/noop/gpupool.yaml --redis redis://127.0.0.1:6379 --prefix "$prefix" > "$alog" 2>&1 &
  for _ in $(seq 300); do grep -q ready "$alog" && break; sleep 0.1; done
  rm -f "$alog"
done
agents=$(node dist/cli/main.js status --redis redis://127.0.0.1:6379 --prefix "$prefix" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).agents.map((a)=>({id:a.id,pid:a.pid,host:a.host})))))')
pkill -INT -f -- "--prefix $prefix"; sleep 3; pkill -KILL -f -- "--prefix $prefix"
verdict=FAIL
if [ "$(echo "$agents" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log(a.length===2&&a[0].id!==a[1].id&&a.every((x)=>x.pid===1))})')" = true ]; then verdict=PASS; else fail=1; fi
report "{\"case\":\"two-default-named-agents-pid-1\",\"agents\":$agents,\"verdict\":\"$verdict\"}"
redis-cli --scan --pattern "$prefix:*" | xargs -r redis-cli del > /dev/null

[ $fail = 0 ] && echo PASS || echo FAIL
exit $fail

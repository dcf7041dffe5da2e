# Shared by node-profile.sh and reader-thread-ab.sh: the MLP's host side without a GPU, and
# per-thread CPU of a process. Source it; it defines functions only.

# host_side_setup WORK WORKERS ITEMS OUT: the config (cpu_mlp_config) and WORK/items.jsonl of ITEMS
# MLP items, and OUT/cpu-only/host.txt naming the host.
host_side_setup() {
  local work=$1 workers=$2 items=$3 out=$4
  cpu_mlp_config "$work" "$workers"
  mkdir -p "$out/cpu-only"
  python3 "$(dirname "${BASH_SOURCE[0]}")/gen_items.py" mlp 0 "$items" > "$work/items.jsonl"
  echo "cpus $(nproc); $(grep -m1 'model name' /proc/cpuinfo); items $items; workers $workers" > "$out/cpu-only/host.txt"
}

# cpu_mlp_config DIR WORKERS: writes DIR/argmax.py (a worker answering at once, as the MLP's
# answer looks) and DIR/mlp-cpu.yaml (WORKERS of it on CPU, the MLP's batch settings).
cpu_mlp_config() {
  local dir=$1 workers=$2
  cat > "$dir/argmax.py" <<'PY'
import gpupool
class M(gpupool.Worker):
    def predict(self, batch):
        return [b["seed"] & 1023 for b in batch]
gpupool.serve(M)
PY
  cat > "$dir/mlp-cpu.yaml" <<YAML
models:
  m:
    command: [python3, $dir/argmax.py]
    devices: cpu
    workers_per_device: $workers
    batch: {max: 4096, timeout: 5ms, in_flight: 2}
YAML
}

# sample_threads PID FILE: per-thread CPU ticks (10 ms) of PID, sampled until it exits, into FILE
# as "ticks tid name" lines, busiest first.
sample_threads() {
  local pid=$1 file=$2 tid name
  declare -A last names
  while kill -0 "$pid" 2>/dev/null; do
    for t in /proc/$pid/task/*; do
      s=$(cat "$t/stat" 2>/dev/null) || continue
      f=(${s##*) })
      tid=$(basename "$t")
      last[$tid]=$((f[11] + f[12]))
      name=$(cat "$t/comm" 2>/dev/null) && names[$tid]=$name
    done
    sleep 0.1
  done
  for k in "${!last[@]}"; do echo "${last[$k]} $k ${names[$k]:-}"; done | sort -rn > "$file"
}

# host_side_run NAME CLI FROM WORK: one `gpupool run` of WORK/items.jsonl (from a `file` or `stdin`)
# through the gpupool CLI file CLI, with WORK/mlp-cpu.yaml; writes NAME.json (the --json summary),
# NAME.stderr.txt and NAME.threads.txt, and prints a line: output lines and the summary's start.
# Environment given before the call (GPUPOOL_READER_THREAD=on host_side_run …) reaches gpupool.
host_side_run() {
  local name=$1 cli=$2 from=$3 work=$4 input=$4/items.jsonl
  [ "$from" = stdin ] && input=-
  rm -rf "$work/state" "$work/out.jsonl"
  node "$cli" run -c "$work/mlp-cpu.yaml" -i "$input" -o "$work/out.jsonl" --fresh --progress none --json --state-dir "$work/state" < "$work/items.jsonl" > "$name.json" 2> "$name.stderr.txt" &
  local pid=$!
  sleep 0.3
  sample_threads "$pid" "$name.threads.txt"
  wait "$pid"
  echo "lines $(wc -l < "$work/out.jsonl"); $(head -c 160 "$name.json")"
}

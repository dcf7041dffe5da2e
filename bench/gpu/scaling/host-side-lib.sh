# Shared by node-profile.sh and reader-thread-ab.sh: the MLP's host side without a GPU, and
# per-thread CPU of a process. Source it; it defines functions only.

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

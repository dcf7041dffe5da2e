#!/bin/bash
# ResNet-50 at N = 1, the bundle of HEAD (app) against that of 92146f4 (app-old), alternated on one host.
set -u
cd "$(dirname "$0")/app-old" && ln -sfn ../app/node_modules node_modules && cd ../app
for i in $(seq 1 ${ROUNDS:-2}); do
  for v in app app-old; do
    python3 bench/gpu/scaling/driver.py --out "$OUT/$i-$v" --ns 1 --workloads resnet50 --methods direct,scheme1,gpupool --budget 90 --cli "$(cd .. && pwd)/$v/gpupool.mjs" > "$OUT/$i-$v.log" 2>&1
    echo "$i $v: $(grep -h 'resnet50 gpupool N=1:\|resnet50 direct N=1:\|resnet50 scheme1 N=1:' "$OUT/$i-$v/scaling-progress.log" | sed 's/^.*resnet50 //' | cut -c1-80 | tr '\n' '|')" | tee -a "$OUT/ab.txt"
  done
done

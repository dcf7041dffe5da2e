#!/bin/bash
# Device call 3: the OOM check of HEAD's bundle, then the ResNet-50 A/B (HEAD's bundle against 92146f4's, one round).
set -u
H=$(cd "$(dirname "$0")" && pwd)
nvidia-smi -L > $OUT/nvidia-smi-L.txt; nproc > $OUT/nproc.txt
cd $H/app
mkdir -p $OUT/oom
OUT=$OUT/oom timeout -k 5 120 bash bench/gpu/oom-check.sh > $OUT/oom/step.log 2>&1
echo "oom: exit $?" >> $OUT/steps.txt
tail -8 $OUT/oom/oom-verdict.txt
(cd $OUT && tar czf oom.tgz oom && rm -rf oom)
ROUNDS=1 bash $H/ab.sh
(cd $OUT && tar czf ab.tgz 1-* && rm -rf 1-app 1-app-old)
cat $OUT/ab.txt $OUT/steps.txt

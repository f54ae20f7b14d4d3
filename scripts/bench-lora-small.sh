#!/usr/bin/env bash
# LoRA against full fine-tuning where weights dominate: the `small` preset (8 experts per MoE layer), a base made
# by 1 training step on the quickstart corpus, then 30 steps of each kind side by side (task caption, batch 16).
# Reports trainable parameters, Adam moments, median step time and peak RSS. Figures in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
C=work/quickstart/corpus-sample; W=work/bench-lora-small
rm -rf "$W" && mkdir -p "$W"
./m6j train --preset small --corpus "$C" --run "$W/base" --steps 1 --batch-size 4 --checkpoint-every 1 >/dev/null 2>&1
./m6j bench machine 2>/dev/null | grep -a GFLOP
for kind in full lora full lora; do
  rm -rf "$W/$kind"
  extra=(); [[ $kind == lora ]] && extra=(--lora 8 --lora-dropout 0)
  ./m6j finetune --from "$W/base" --data "$C" --run "$W/$kind" --task caption --steps 30 --batch-size 16 --warmup 2 \
    --checkpoint-every 30 "${extra[@]}" 2>/dev/null | grep -a "LoRA rank\|peak RSS" || true
  python3 - "$W/$kind" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
print(sys.argv[1].rsplit("/", 1)[1], "median step %.0f ms (steps 5-29)" % statistics.median(r["ms"] for r in rows[5:]))
PY
done

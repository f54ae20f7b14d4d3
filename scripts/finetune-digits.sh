#!/usr/bin/env bash
# Fine-tuning on data m6j has never seen (issue 12): sklearn's 1,797 handwritten digits as an image folder with
# metadata.jsonl, built into a corpus; the quickstart checkpoint without fine-tuning, fine-tuned with LoRA and in
# full, against the same model trained from scratch for the LoRA run's training time. Needs work/quickstart/run
# (./m6j quickstart). Figures from one run are in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
W=work/digits
rm -rf "$W" && mkdir -p "$W"
scripts/digits-folder.sh "$W/digits"
./m6j corpus build --from "$W/digits" --out "$W/corpus" --test-fraction 0.2
ev() { ./m6j eval -m "$1" --corpus "$W/corpus" 2>/dev/null | grep -a -A1 "Held-out captioning\|Held-out visual chat" | grep -a "^  digits" || true; }
./m6j bench machine 2>/dev/null | grep -a GFLOP
echo "== base"; ev work/quickstart/run
FT="--from work/quickstart/run --data $W/corpus --task caption --steps 300 --batch-size 32 --warmup 20 --checkpoint-every 300"
# LoRA at a higher learning rate than full fine-tuning, as usual (its update is low-rank and starts at zero)
./m6j finetune $FT --run "$W/lora" --lora 8 --lora-dropout 0 --lr 5e-3 >/dev/null 2>&1
secs=$(python3 -c "import json; print(round(sum(json.loads(l)['ms'] for l in open('$W/lora/metrics.jsonl'))/1000, 1))")
echo "== LoRA r 8 (300 steps, $secs s of training)"; ev "$W/lora"
./m6j train --preset tiny --corpus "$W/corpus" --run "$W/scratch" --mixture itt=1 --steps 100000 --max-seconds "$secs" \
  --batch-size 32 --lr 2e-3 --warmup 20 --checkpoint-every 0 >/dev/null 2>&1
echo "== from scratch for $secs s ($(wc -l < "$W/scratch/metrics.jsonl") steps)"; ev "$W/scratch"
./m6j finetune $FT --run "$W/full" --lr 2e-3 >/dev/null 2>&1
echo "== full fine-tuning (300 steps, $(python3 -c "import json; print(round(sum(json.loads(l)['ms'] for l in open('$W/full/metrics.jsonl'))/1000, 1))") s)"; ev "$W/full"

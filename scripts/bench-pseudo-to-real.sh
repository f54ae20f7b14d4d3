#!/usr/bin/env bash
# Pseudo-to-real (M6-10T's "share then delink") against training the real model from scratch, for the same
# wall time each. Usage: scripts/bench-pseudo-to-real.sh [SECONDS] [PRESET]   (defaults: 600 s, small)
# Half the time goes to the shared-weight pseudo giant, then it is delinked and trained on as the real model.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-600}"; preset="${2:-small}"
work="$here/work/pseudo-to-real"
m6j="$here/m6j"
"$m6j" --version >/dev/null
[[ -f "$work/corpus/corpus.json" ]] || "$m6j" corpus build --from sample --out "$work/corpus" >/dev/null
rm -rf "$work/real" "$work/pseudo" "$work/delinked"
common=(--preset "$preset" --corpus "$work/corpus" --steps 100000 --batch-size 16 --warmup 50 --lr 1e-3 --min-lr 1e-3
        --checkpoint-every 0 --mixture itt=0.5,mtt=0.1,denoise=0.15,lm=0.25)
"$m6j" train "${common[@]}" --run "$work/real" --max-seconds "$secs" | grep -v "^$"
"$m6j" train "${common[@]}" --run "$work/pseudo" --share-layers --max-seconds $((secs / 2)) | grep -v "^$"
"$m6j" delink "$work/pseudo" --out "$work/delinked"
"$m6j" train "${common[@]}" --run "$work/delinked" --resume --max-seconds $((secs / 2)) | grep -v "^$"
"$m6j" plot "$work/real" "$work/pseudo+$work/delinked" --objective itt,lm --out "$work/loss.png"
for r in real delinked; do
  echo "== $r"
  "$m6j" eval -m "$work/$r" --corpus "$work/corpus" --max-captions 500 --max-texts 300 | grep -E "fashion-mnist|brown|chinese-poetry"
done

#!/usr/bin/env bash
# Two-stage text-to-image in colour on Open Clip Art (installed: Debian openclipart-png + openclipart-svg) and the
# committed Twemoji sample: corpus, colour32 VQGAN, M6 stage two, contact sheets for a few prompts.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
T="--threads ${THREADS:-2}"
mkdir -p work/npm-data && ln -sfn "$PWD/data/sample/twemoji" work/npm-data/twemoji    # Twemoji: the committed sample
[[ -f work/clipart/corpus.json ]] || M6J_DATA=work/npm-data ./m6j corpus build --from installed --sources openclipart,twemoji --out work/clipart
[[ -f work/vq-clipart/vqgan.safetensors ]] || ./m6j vqgan train $T --preset colour32 --corpus work/clipart --out work/vq-clipart \
  --steps "${VQ_STEPS:-800}" --batch-size 32 --held-out 400
./m6j train $T --preset tiny-t2i --corpus work/clipart --run work/t2i-clipart --vqgan work/vq-clipart \
  --mixture itt=0.2,t2i=0.8 --steps "${STEPS:-800}" --batch-size 32 --lr 2e-3 --warmup 50 --checkpoint-every 400 --resume
for p in "${@:-dress}"; do ./m6j imagine $T -m work/t2i-clipart "$p" -n 8 --seed 1 -o work/imagine-clipart; done

#!/usr/bin/env bash
# Two-stage text-to-image on Fashion-MNIST (issue 5): corpus, VQGAN, M6 stage two, evaluation, contact sheet, benchmark.
# Needs the Debian package dataset-fashion-mnist. Figures from one run are in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
T="--threads ${THREADS:-2}"
[[ -f work/fmnist/corpus.json ]] || ./m6j corpus build --from installed --sources fashion-mnist --out work/fmnist
[[ -f work/vq-fmnist/vqgan.safetensors ]] || ./m6j vqgan train $T --preset fmnist32 --corpus work/fmnist --out work/vq-fmnist \
  --steps 1500 --batch-size 32 --held-out 2000
# as measured: an 800-step schedule, then resumed under a 1600-step schedule (--resume is exact)
for steps in 800 1600; do
  ./m6j train $T --preset tiny-t2i --corpus work/fmnist --run work/t2i-fmnist --vqgan work/vq-fmnist \
    --mixture itt=0.15,t2i=0.85 --steps $steps --batch-size 32 --lr 2e-3 --warmup 50 --checkpoint-every 400 --resume
done
./m6j eval imagine $T -m work/t2i-fmnist --corpus work/fmnist --classifier work/fmnist-classifier --per-class 50 \
  --sheet docs/imagine-fmnist.png
./m6j imagine $T -m work/t2i-fmnist "an ankle boot" -n 8 --seed 1 -o work/imagine
./m6j bench imagine $T -m work/t2i-fmnist

#!/usr/bin/env bash
# The chaos proof of durability (docs/BENCHMARKS.md, "Chaos: SIGKILL and resume"): trains an uninterrupted reference
# run, then the same run killed with SIGKILL at random moments ROUNDS times in a row (about half of the kills aimed
# inside checkpoint writes: once the round's 1st, 2nd or 3rd step-*.tmp staging directory appears, after a random
# 0-400 ms), resumed with --resume after each kill, and finally let finish. Before each resume it finds (scripts/chaos-check.py, the rules of
# Checkpoint.validate) the checkpoint the resume must take and checks that it equals the reference's checkpoint of
# the same step bit for bit; after it, that the resume printed that very checkpoint. At the end the final
# checkpoint's tensors (weights and optimizer state) must equal the reference's bit for bit.
#
#   scripts/chaos-train.sh                          # one process, 30 kills
#   scripts/chaos-train.sh --nproc 2 --rounds 10    # m6j launch --nproc 2 train --dp 2: one rank killed per round
#   scripts/chaos-train.sh --nproc 2 --direct      # the two ranks started torchrun-style, no launcher: the survivor
#                                                   # must notice the dead rank by itself (collective/barrier timeouts)
#   options: --rounds N --steps N --every N (checkpoint every) --seed N (kill schedule) --max-delay S (random kills
#            land 1..S s after the start) --dir DIR (default work/chaos) --lock FILE (flock'd around each round)
# Exit status 0 only if every check passed. Results: DIR/<tag>/rounds.tsv and summary.txt.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=30 steps=300 every=2 nproc=1 seed=1 maxdelay=20 dir=work/chaos lock="" direct=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;; --steps) steps=$2; shift 2 ;; --every) every=$2; shift 2 ;;
    --nproc) nproc=$2; shift 2 ;; --seed) seed=$2; shift 2 ;; --max-delay) maxdelay=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;; --lock) lock=$2; shift 2 ;; --direct) direct=1; shift ;;
    *) echo "usage: scripts/chaos-train.sh [--rounds N] [--steps N] [--every N] [--nproc 1|2] [--seed N] [--max-delay S] [--dir DIR] [--lock FILE]" >&2; exit 2 ;;
  esac
done
[[ $nproc == 1 || $nproc == 2 ]] || { echo "--nproc must be 1 or 2" >&2; exit 2; }
check="python3 scripts/chaos-check.py"
tag="np$nproc"
out="$dir/$tag" ref="$dir/$tag/ref" run="$dir/$tag/chaos"
if [[ $direct == 1 ]]; then          # the reference and the final run go through the launcher as usual
  [[ $nproc == 2 ]] || { echo "--direct needs --nproc 2" >&2; exit 2; }
  out="$dir/np2-direct" run="$dir/np2-direct/chaos"
fi
mkdir -p "$out"
./m6j --version >/dev/null 2>&1 || ./m6j --help >/dev/null      # builds the jar once, before any timing
RANDOM=$seed

with_lock() { if [[ -n $lock ]]; then flock "$lock" "$@"; else "$@"; fi; }
train_args() {   # $1: run directory, $2: --keep
  local a=(train --preset tiny --corpus "$dir/corpus" --run "$1" --steps "$steps" --batch-size 8 --warmup 4
           --checkpoint-every "$every" --keep "$2" --seed 7 --resume)
  [[ $nproc == 2 ]] && a+=(--dp 2)
  printf '%s\n' "${a[@]}"
}
port=$((29600 + RANDOM % 300))
launch() {       # the command line of one training process tree
  if [[ $nproc == 2 ]]; then port=$((port + 1)); echo launch; echo --nproc; echo 2; echo --master; echo "127.0.0.1:$port"; fi
  train_args "$@"
}
ckpt() { printf '%s/checkpoints/step-%06d' "$1" "$2"; }

if [[ ! -f $dir/corpus/corpus.json ]]; then
  with_lock ./m6j corpus build --from sample --max-per-source 150 --out "$dir/corpus" || exit 1
fi

# 1. The uninterrupted reference, every checkpoint kept (each resume's checkpoint is compared with it).
if [[ $($check latest "$ref" 2>/dev/null) != "$steps" ]]; then
  rm -rf "$ref"
  t0=$(date +%s.%N)
  mapfile -t args < <(launch "$ref" 100000)
  with_lock ./m6j "${args[@]}" >"$out/ref.log" 2>&1 || { echo "reference run failed: $out/ref.log" >&2; exit 1; }
  echo "reference: $steps steps in $(echo "$(date +%s.%N) - $t0" | bc) s" | tee "$out/ref-time.txt"
fi

# 2. The chaos run.
rm -rf "$run"
rm -f "$out"/round-*.log* "$out"/same-*.txt
mkdir -p "$run"
printf 'round\tmode\tdelay_s\tvictim\texpected_step\texpected_vs_ref\tresumed_step\tskipped\tkilled_in_write\tstep_reached\tsurvivor_exit_s\tresult\n' >"$out/rounds.tsv"
fail=0 inwrite=0 kills=0
t_chaos=$(date +%s.%N)
for ((i = 1; i <= rounds; i++)); do
  [[ -n $lock ]] && { exec {lfd}>"$lock"; flock "$lfd"; }
  expect=$($check latest "$run" 2>/dev/null)
  vsref="-"
  if [[ $expect -ge 0 ]]; then
    if $check same "$(ckpt "$run" "$expect")" "$(ckpt "$ref" "$expect")" >"$out/same-$i.txt"; then vsref=bit-equal; else vsref=DIFFERENT; fail=1; fi
  fi
  log="$out/round-$i.log" orc="" hung=no
  marker="$out/.round-start"; touch "$marker"; sleep 0.01
  mapfile -t args < <(launch "$run" 3)
  if [[ $direct == 1 ]]; then        # rank processes of our own; pid: a watcher that lives while either does
    port=$((port + 1))
    mapfile -t args < <(train_args "$run" 3)
    rpids=()
    for r in 0 1; do
      MASTER_ADDR=127.0.0.1 MASTER_PORT=$port WORLD_SIZE=2 RANK=$r LOCAL_RANK=$r OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
        M6J_JAVA_OPTS="-Xmx8g -Dm6j.threads=1 ${CHAOS_JAVA_OPTS:-}" ./m6j "${args[@]}" >"$log.rank$r" 2>&1 &
      rpids+=($!)
    done
    (while kill -0 "${rpids[0]}" 2>/dev/null || kill -0 "${rpids[1]}" 2>/dev/null; do sleep 0.1; done) &
    pid=$!
  else
    ./m6j "${args[@]}" >"$log" 2>&1 &
    pid=$!
  fi
  if ((RANDOM % 2 == 0)); then
    nth=$((1 + RANDOM % 3))         # inside the round's 1st, 2nd or 3rd checkpoint write
    mode=in-write-$nth
    delay=$(printf '0.%03d' $((RANDOM % 400)))
    t0=$SECONDS seen=""
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < 300)); do
      for t in $(find "$run/checkpoints" -maxdepth 1 -name 'step-*.tmp' -newer "$marker" 2>/dev/null); do
        [[ " $seen " == *" $t "* ]] || seen="$seen $t"
      done
      [[ $(wc -w <<<"$seen") -ge $nth ]] && break
      sleep 0.02
    done
    sleep "$delay"
  else
    mode=random
    delay=$(printf '%d.%d' $((1 + RANDOM % maxdelay)) $((RANDOM % 10)))
    end=$(echo "$(date +%s.%N) + $delay" | bc)
    while kill -0 "$pid" 2>/dev/null && (($(echo "$(date +%s.%N) < $end" | bc))); do sleep 0.05; done
  fi
  victim=-
  survivor=-
  if kill -0 "$pid" 2>/dev/null; then
    if [[ $direct == 1 ]]; then
      r=$((RANDOM % 2)); victim="rank$r"; tk=$(date +%s.%N); kill -9 "${rpids[$r]}"
      other=${rpids[$((1 - r))]}
    elif [[ $nproc == 2 ]]; then       # the launcher's workers: kill one rank's JVM, the launcher must stop the other
      r=$((RANDOM % 2)) target=""
      for c in $(pgrep -P "$pid"); do
        grep -qz "^RANK=$r\$" "/proc/$c/environ" 2>/dev/null && target=$c
      done
      if [[ -n $target ]]; then victim="rank$r"; tk=$(date +%s.%N); kill -9 "$target"
      else victim=launcher; tk=$(date +%s.%N); kill -9 "$pid"; fi   # workers not started yet
    else
      victim=jvm; tk=$(date +%s.%N); kill -9 "$pid"
    fi
    kills=$((kills + 1))
    written=$([[ -n $(find "$run/checkpoints" -maxdepth 1 -name 'step-*.tmp' -newer "$marker" 2>/dev/null) ]] && echo yes || echo no)
  else
    written=no
  fi
  if [[ $direct == 1 && $victim == rank* ]]; then   # the survivor must exit with an error by itself
    t0=$SECONDS
    while kill -0 "$other" 2>/dev/null && ((SECONDS - t0 < ${CHAOS_HANG_S:-180})); do sleep 0.1; done
    if kill -0 "$other" 2>/dev/null; then hung=yes; kill -9 "$other"; else hung=no; fi
    wait "$other"; orc=$?
    wait "${rpids[$r]}" 2>/dev/null
    cat "$log.rank0" "$log.rank1" >"$log"
  fi
  wait "$pid"; rc=$?
  [[ $direct == 1 ]] && { [[ $victim == - ]] && cat "$log.rank0" "$log.rank1" >"$log"; rc=${orc:-0}; }
  [[ $victim == rank* ]] && survivor=$(printf '%.1f' "$(echo "$(date +%s.%N) - $tk" | bc)")
  if [[ $victim == launcher ]]; then     # its workers may outlive it for a moment: let them go
    sleep 1; pkill -9 -P "$pid" 2>/dev/null
  fi
  [[ $written == yes ]] && inwrite=$((inwrite + 1))
  resumed=$(grep -oE 'm6j: resumed .* at step [0-9]+' "$log" | grep -oE '[0-9]+$' | head -1)
  if grep -q 'no checkpoint in .*; starting from scratch' "$log"; then resumed=scratch; fi
  [[ -z $resumed ]] && resumed=not-reached
  skipped=$(grep -c 'skipping incomplete checkpoint' "$([[ $direct == 1 ]] && echo "$log.rank0" || echo "$log")")
  reached=$(grep -oE '[0-9]+/'"$steps" "$log" | tail -1 | cut -d/ -f1); reached=${reached:--}
  result=ok
  if [[ $resumed == scratch && $expect -ge 0 ]] || [[ $resumed =~ ^[0-9]+$ && $resumed != "$expect" ]]; then result="FAIL: resumed $resumed, expected $expect"; fail=1; fi
  [[ $vsref == DIFFERENT ]] && result="FAIL: checkpoint $expect differs from the reference"
  if [[ $direct == 0 ]] && grep -qE 'Exception|Error|error:' "$log" && ! grep -q 'exited with code 137' "$log"; then result="FAIL: error in $log"; fail=1; fi
  if [[ $direct == 1 && $victim == rank* ]]; then
    why=$(grep -hoE 'm6j: rank [0-9].*' "$log" | head -1 | cut -c1-160)
    if [[ $hung == yes ]]; then result="FAIL: survivor still running ${CHAOS_HANG_S:-180} s after the kill"; fail=1
    elif [[ $orc == 0 ]]; then result="FAIL: survivor exited 0"; fail=1
    else result="ok (survivor rc $orc: ${why:-no message})"; fi
  fi
  [[ $victim == - ]] && { result="finished before the kill (rc $rc)"; [[ $rc == 0 ]] || fail=1; }
  [[ $direct == 0 && $victim == rank* && $rc == 0 ]] && { result="FAIL: launcher exited 0 after a killed rank"; fail=1; }
  printf '%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$mode" "$delay" "$victim" "$expect" "$vsref" "$resumed" "$skipped" "$written" "$reached" "$survivor" "$result" | tee -a "$out/rounds.tsv"
  [[ -n $lock ]] && exec {lfd}>&-
  [[ $victim == - ]] && break
done

# 3. Let it finish, then compare with the reference.
expect=$($check latest "$run" 2>/dev/null)
mapfile -t args < <(launch "$run" 3)
with_lock ./m6j "${args[@]}" >"$out/final.log" 2>&1 || { echo "final resume failed: $out/final.log" >&2; fail=1; }
resumed=$(grep -oE 'm6j: resumed .* at step [0-9]+' "$out/final.log" | grep -oE '[0-9]+$' | head -1)
wall=$(echo "$(date +%s.%N) - $t_chaos" | bc)
final=$($check same "$(ckpt "$run" "$steps")" "$(ckpt "$ref" "$steps")") || fail=1
leftover=$(find "$run/checkpoints" -maxdepth 1 -name '*.tmp' | wc -l)
{
  echo "chaos-train: nproc $nproc$([[ $direct == 1 ]] && echo ' (ranks started directly, no launcher)'), $steps steps, checkpoint every $every, kill schedule seed $seed"
  echo "rounds: $kills kills ($inwrite inside a checkpoint write: a staging directory of this round existed at the kill)"
  echo "resumes started from steps: $(cut -f7 "$out/rounds.tsv" | tail -n +2 | tr '\n' ' ')(final resume: ${resumed:-none}, expected $expect)"
  echo "final step $steps vs uninterrupted reference: $final"
  echo "staging directories left after the final run: $leftover"
  echo "chaos wall time (kills, resumes and the final run): $(printf '%.0f' "$wall") s"
  [[ $fail == 0 ]] && echo "RESULT: PASS" || echo "RESULT: FAIL"
} | tee "$out/summary.txt"
exit $fail

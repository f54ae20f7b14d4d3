#!/usr/bin/env bash
# Trains across two "hosts" on one machine: network namespaces m6j-a and m6j-b joined by a veth pair
# (10.77.0.1 and 10.77.0.2, addresses that exist only inside these namespaces). Node 0 serves the rendezvous
# store at 10.77.0.1:29600; each node runs one worker; the job is expert parallel (ep=2) across the two.
# Needs root and iproute2. Usage: scripts/two-host.sh [STEPS]   (cleans up its namespaces on exit)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps="${1:-20}"
work="${M6J_TWO_HOST_DIR:-$here/work/two-host}"
cleanup() { ip netns del m6j-a 2>/dev/null || true; ip netns del m6j-b 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add m6j-a
ip netns add m6j-b
ip link add m6j-va type veth peer name m6j-vb
ip link set m6j-va netns m6j-a
ip link set m6j-vb netns m6j-b
ip -n m6j-a addr add 10.77.0.1/24 dev m6j-va
ip -n m6j-b addr add 10.77.0.2/24 dev m6j-vb
for ns in m6j-a m6j-b; do ip -n $ns link set lo up; done
ip -n m6j-a link set m6j-va up
ip -n m6j-b link set m6j-vb up
ip netns exec m6j-a bash -c "exec 3<>/dev/tcp/10.77.0.2/9" 2>/dev/null || true   # route check (connection refused is fine)

"$here/m6j" --version >/dev/null          # build once, outside the namespaces
[[ -f "$work/corpus/corpus.json" ]] || "$here/m6j" corpus build --from sample --out "$work/corpus" >/dev/null
rm -rf "$work/run"
args=(train --preset tiny --corpus "$work/corpus" --run "$work/run" --steps "$steps" --batch-size 16 --ep 2 --checkpoint-every 10)
start=$(date +%s)
ip netns exec m6j-a "$here/m6j" launch --nproc 1 --nnodes 2 --node-rank 0 --master 10.77.0.1:29600 "${args[@]}" &
a=$!
ip netns exec m6j-b "$here/m6j" launch --nproc 1 --nnodes 2 --node-rank 1 --master 10.77.0.1:29600 "${args[@]}" &
b=$!
wait $a; ra=$?
wait $b; rb=$?
echo "two-host run: node0 exit $ra, node1 exit $rb, $(( $(date +%s) - start )) s, checkpoints: $(ls "$work/run/checkpoints" | tr '\n' ' ')"
[[ $ra == 0 && $rb == 0 ]]

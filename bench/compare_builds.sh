#!/usr/bin/env bash
# A/B of two builds on the main workloads: the two binaries run alternately,
# RUNS times each, and the medians (and minima) are printed side by side.
# On a shared host the spread between two `run_all.sh` tables taken minutes
# apart is often larger than a change; alternating runs see the same host.
#
#   git worktree add /tmp/base <commit> && cmake -S /tmp/base -B /tmp/base/build-perf \
#       -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON &&
#       ninja -C /tmp/base/build-perf ctrack ctrack_workloads
#   bench/compare_builds.sh /tmp/base/build-perf build-perf     # RUNS=5
#
# Needs the bench capture of run_all.sh ($PCAP_DIR/bench_1m_50k.pcap).
set -euo pipefail

A=${1:?usage: compare_builds.sh OLD_BUILD NEW_BUILD}
B=${2:?usage: compare_builds.sh OLD_BUILD NEW_BUILD}
RUNS=${RUNS:-5}
PCAP=${PCAP_DIR:-/tmp/ctrack-bench}/bench_1m_50k.pcap
[[ -f $PCAP ]] || { echo "missing $PCAP: run bench/run_all.sh once to generate it" >&2; exit 1; }
for b in "$A" "$B"; do
  for x in ctrack bench/ctrack_workloads; do
    [[ -x $b/$x ]] || { echo "missing $b/$x" >&2; exit 1; }
  done
done

stats() { sort -g | awk '{v[NR]=$1} END {printf "%s (min %s)", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), v[1]}'; }

# One figure of one build: ns/packet from the driver, or wall ms of ctrack.
figure() {
  local build=$1 kind=$2; shift 2
  if [[ $kind == driver ]]; then
    "$build/bench/ctrack_workloads" "$@" | grep -oE 'ns_per_pkt=[0-9.]+' | cut -d= -f2
  else
    local t0 t1
    t0=$(date +%s%N)
    "$build/ctrack" "$@" > /dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
  fi
}

row() {
  local label=$1 unit=$2 kind=$3; shift 3
  local a=() b=()
  for ((i = 0; i < RUNS; i++)); do
    a+=("$(figure "$A" "$kind" "$@")")
    b+=("$(figure "$B" "$kind" "$@")")
  done
  printf '| %s | %s | %s | %s |\n' "$label" "$unit" \
    "$(printf '%s\n' "${a[@]}" | stats)" "$(printf '%s\n' "${b[@]}" | stats)"
}

echo "old: $A"
echo "new: $B"
echo "runs: $RUNS alternating, median (min); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo '| workload | unit | old | new |'
echo '|---|---|---|---|'
row 'one UDP flow, batch 32' ns/packet driver udp1 --packets 8000000
row 'one UDP flow, single calls' ns/packet driver udp1 --batch 1 --packets 8000000
row '1024 established flows, batch 32' ns/packet driver flows --flows 1024 --packets 8000000
row '1M established flows, batch 32' ns/packet driver flows --flows 1048576 --packets 8000000
row 'new connection into 1M, single calls' ns/packet driver create --flows 1048576
row 'new connection into 1M, batch 32' ns/packet driver create --flows 1048576 --batch 32
row 'replay -q, bench capture' ms ctrack replay -q "$PCAP"
row 'replay -q --threads 2' ms ctrack replay -q --threads 2 "$PCAP"
row 'replay, text lines' ms ctrack replay "$PCAP"
row 'replay, JSON Lines' ms ctrack replay --format json "$PCAP"

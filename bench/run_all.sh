#!/usr/bin/env bash
# Runs every benchmark behind BENCHMARKS.md and prints its table rows: the
# median of RUNS runs per figure, each run a fresh process. Run it on a quiet
# machine; as root it gives every run its own session with autogroup nice
# -20, the trick used for the Open vSwitch baseline (ovs-bench.md), so that
# background jobs do not time-slice the measurement.
#
#   cmake -S . -B build-perf -G Ninja -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_INTERPROCEDURAL_OPTIMIZATION=ON && ninja -C build-perf
#   bench/run_all.sh                  # RUNS=5 BUILD=build-perf
#   QUICK=1 bench/run_all.sh          # fewer packets, for a smoke test
#
# The generated capture (166 MB) goes to $PCAP_DIR (default /tmp/ctrack-bench),
# never into the repository.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-perf}
RUNS=${RUNS:-5}
SHARED=${CTRACK_SHARED_DIR:-$ROOT/../shared}
PCAP_DIR=${PCAP_DIR:-/tmp/ctrack-bench}
PCAP=$PCAP_DIR/bench_1m_50k.pcap
ECHO_PCAP=$SHARED/corpus/throughput-500-concurrent-echo-conns.pcap
W=$BUILD/bench/ctrack_workloads
CTRACK=$BUILD/ctrack
PKTS=${PKTS:-16000000}
[[ -n ${QUICK:-} ]] && PKTS=2000000

for b in "$W" "$CTRACK"; do
  [[ -x $b ]] || { echo "missing $b: build first (see the top of this script)" >&2; exit 1; }
done

# Runs "$@" in its own session at autogroup nice -20 when we may (root).
isolated() {
  if [[ $(id -u) == 0 ]]; then
    setsid bash -c 'echo -20 > /proc/self/autogroup 2>/dev/null || true; exec "$@"' _ "$@"
  else
    "$@"
  fi
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# field KEY: the value of KEY=... in the line(s) on stdin (first match).
field() { grep -oE "(^| )$1=[^ ]*" | head -1 | cut -d= -f2; }

# runs ARGS...: RUNS runs of the workload driver, all output lines in $OUT.
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
runs() {
  : > "$OUT"
  for ((i = 0; i < RUNS; i++)); do isolated "$W" "$@" | grep '^workload=' >> "$OUT"; done
}
# med KEY: median of KEY over the lines of the last runs().
med() { while read -r line; do echo "$line" | field "$1"; done < "$OUT" | median; }
# wl KEY ARGS...: median of KEY over RUNS runs of the workload driver.
wl() {
  local key=$1; shift
  runs "$@"
  med "$key"
}

# One whole-process replay: "wall-seconds max-RSS-KiB" (wall from the
# nanosecond clock: /usr/bin/time's 10 ms steps are 5 % of a 0.2 s run).
# Quiet (-q) unless REPLAY_OUTPUT is set (then the per-packet lines are
# written to /dev/null).
replay_once() {
  local tmp; tmp=$(mktemp)
  local t0 t1 q=-q
  [[ -n ${REPLAY_OUTPUT:-} ]] && q=
  t0=$(date +%s%N)
  isolated /usr/bin/time -f "%M" -o "$tmp" "$CTRACK" replay $q "$@" >/dev/null
  t1=$(date +%s%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}') $(tail -1 "$tmp")"
  rm -f "$tmp"
}
# Whole-process replay: median wall seconds and median max RSS (KiB).
replay_runs() {
  local tmp; tmp=$(mktemp)
  for ((i = 0; i < RUNS; i++)); do replay_once "$@"; done > "$tmp"
  echo "$(cut -d' ' -f1 "$tmp" | median) $(cut -d' ' -f2 "$tmp" | median)"
  rm -f "$tmp"
}
# --threads 1 and --threads 2 alternately (so that both see the same host
# weather), and between them two probes of the machine in the same minutes
# (`ctrack_workloads`, no ctrack code): `host`, a loop that shares nothing,
# on 1 and 2 threads (can the guest run two threads at once at all?), and
# `c2c`, the time to hand a cache line from one vCPU to the other (are the
# two vCPUs on one die?). Prints the medians
# "secs-1 secs-2 host-ms-1 host-ms-2 c2c-ns c2c-min c2c-max".
replay_scaling() {
  local one two h1 h2 c2c; one=$(mktemp); two=$(mktemp); h1=$(mktemp); h2=$(mktemp); c2c=$(mktemp)
  for ((i = 0; i < RUNS; i++)); do
    "$W" c2c | field c2c_ns >> "$c2c"
    replay_once --threads 1 "$@" | cut -d' ' -f1 >> "$one"
    isolated "$W" host --threads 1 | field wall_ms >> "$h1"
    replay_once --threads 2 "$@" | cut -d' ' -f1 >> "$two"
    isolated "$W" host --threads 2 | field wall_ms >> "$h2"
  done
  echo "$(median < "$one") $(median < "$two") $(median < "$h1") $(median < "$h2")" \
    "$(median < "$c2c") $(sort -g "$c2c" | head -1) $(sort -g "$c2c" | tail -1)"
  rm -f "$one" "$two" "$h1" "$h2" "$c2c"
}

if [[ ! -f $PCAP ]]; then
  mkdir -p "$PCAP_DIR"
  echo "generating $PCAP (needs python3 with scapy: apt install python3-scapy)" >&2
  /usr/bin/python3 "$SHARED/bench/gen_bench_pcap.py" -o "$PCAP" >/dev/null
fi

echo "machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs)"
echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo ' + uncommitted changes')"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "load:    $(uptime | sed 's/.*load average: //') (1/5/15 min, before)"
echo "runs:    median of $RUNS; packets per timed run: $PKTS"
echo
echo "| workload | ctrack ns/packet | ctrack Mpps | peak RSS | bytes/conn | OVS | target |"
echo "|---|---|---|---|---|---|---|"

row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }
mpps() { awk -v n="$1" 'BEGIN { printf "%.2f", 1000 / n }'; }

runs udp1 --packets "$PKTS" --batch 32; ns=$(med ns_per_pkt); rss=$(med peak_rss_kib)
row "one UDP flow, batch 32 (\`ctrack_workloads udp1\`)" "$ns" "$(mpps "$ns")" "${rss} KiB" "-" "148 ns (6.7 Mpps)" "<= 15 ns"
ns=$(wl ns_per_pkt udp1 --packets "$PKTS" --batch 1)
row "one UDP flow, single-packet API (\`udp1 --batch 1\`)" "$ns" "$(mpps "$ns")" "-" "-" "-" "-"

declare -A OVS_FLOWS=([1024]="166 ns" [65536]="210 ns" [1048576]="352 ns")
for n in 1024 65536 1048576; do
  runs flows --flows "$n" --packets "$PKTS" --batch 32; ns=$(med ns_per_pkt); rss=$(med peak_rss_kib)
  tgt="-"; [[ $n == 1048576 ]] && tgt="<= 35 ns"
  row "$n established UDP flows, batch 32 (\`flows --flows $n\`)" "$ns" "$(mpps "$ns")" "${rss} KiB" "-" "${OVS_FLOWS[$n]}" "$tgt"
done
ns=$(wl ns_per_pkt flows --flows 1048576 --packets "$PKTS" --batch 1)
row "1048576 established UDP flows, single-packet API (\`--batch 1\`)" "$ns" "$(mpps "$ns")" "-" "-" "352 ns" "-"

declare -A OVS_NEW=([1024]="577 ns" [65536]="729 ns" [1048576]="931 ns")
declare -A OVS_LOOK=([1024]="153 ns" [65536]="242 ns" [1048576]="367 ns")
for n in 1024 65536 1048576; do
  runs create --flows "$n"; ns=$(med ns_per_pkt); look=$(med lookup_ns_per_pkt); rss=$(med peak_rss_kib)
  tgt="-"; [[ $n == 1048576 ]] && tgt="<= 60 ns"
  row "new connection into a table of $n (\`create --flows $n\`)" "$ns" "$(mpps "$ns")" "${rss} KiB" "-" "${OVS_NEW[$n]}" "$tgt"
  row "... then lookup of those $n, batch 1" "$look" "$(mpps "$look")" "-" "-" "${OVS_LOOK[$n]}" "-"
done
# The same packets through the batch API (not OVS's method: one call per packet).
runs create --flows 1048576 --batch 32; ns=$(med ns_per_pkt); look=$(med lookup_ns_per_pkt)
row "new connection into a table of 1048576, batch API (\`create --flows 1048576 --batch 32\`)" "$ns" "$(mpps "$ns")" "-" "-" "-" "-"
row "... then lookup of those 1048576, batch 32" "$look" "$(mpps "$look")" "-" "-" "-" "-"

ns=$(wl ns_per_pkt synflood --batch 32)
flat=$(isolated "$W" synflood --batch 32 | grep synflood_entries | sed 's/.*rss_kib_at_10pct=\([0-9]*\) rss_kib_at_end=\([0-9]*\)/\1 KiB at 10%, \2 KiB at end/')
row "SYN flood, 10x nf_conntrack_max distinct SYNs (\`synflood\`)" "$ns" "$(mpps "$ns")" "$flat" "-" "-" "memory flat"

read -r secs rss < <(replay_runs "$PCAP")
row "gen_bench_pcap.py default capture, \`ctrack replay -q\`, whole process" "$(awk -v s="$secs" 'BEGIN{printf "%.1f", s*1000}')" "$(awk -v s="$secs" 'BEGIN{printf "%.2f", 1/s}')" "${rss} KiB" "-" "0.69 Mpps whole process" ">= 10 Mpps"
read -r secs rss < <(replay_runs --set nf_conntrack_checksum=0 "$PCAP")
row "... same with nf_conntrack_checksum=0 (separate row)" "$(awk -v s="$secs" 'BEGIN{printf "%.1f", s*1000}')" "$(awk -v s="$secs" 'BEGIN{printf "%.2f", 1/s}')" "${rss} KiB" "-" "-" "-"
read -r s1 s2 h1 h2 c2c c2c_lo c2c_hi < <(replay_scaling "$PCAP")
row "... same, \`--threads 1\` and \`--threads 2\` alternately (2 shards, split front)" "$(awk -v a="$s1" -v b="$s2" 'BEGIN{printf "%.1f / %.1f", a*1000, b*1000}')" "$(awk -v a="$s1" -v b="$s2" 'BEGIN{printf "%.2f / %.2f (%.2fx)", 1/a, 1/b, a/b}')" "-" "-" "-" ">= 1.9x"
row "... the machine in the same minutes: a loop sharing nothing on 1 / 2 threads, ms (\`ctrack_workloads host\`)" "$(awk -v a="$h1" -v b="$h2" 'BEGIN{printf "%.1f / %.1f", a, b}')" "$(awk -v a="$h1" -v b="$h2" 'BEGIN{printf "(%.2fx)", 2*a/b}')" "-" "-" "-" "-"
row "... and a cache line handed between its two vCPUs, ns (\`ctrack_workloads c2c\`; ~45 one die, ~220 two)" "$c2c ($c2c_lo-$c2c_hi)" "-" "-" "-" "-" "-"
read -r secs rss < <(REPLAY_OUTPUT=1 replay_runs "$PCAP")
row "... per-packet text output (\`ctrack replay\`, to /dev/null)" "$(awk -v s="$secs" 'BEGIN{printf "%.1f", s*1000}')" "$(awk -v s="$secs" 'BEGIN{printf "%.2f", 1/s}')" "${rss} KiB" "-" "-" "-"
read -r secs rss < <(REPLAY_OUTPUT=1 replay_runs --format json "$PCAP")
row "... per-packet JSON Lines (\`--format json\`, to /dev/null)" "$(awk -v s="$secs" 'BEGIN{printf "%.1f", s*1000}')" "$(awk -v s="$secs" 'BEGIN{printf "%.2f", 1/s}')" "${rss} KiB" "-" "-" "-"
ns=$(wl ns_per_pkt pcap --file "$PCAP" --batch 32)
row "... engine share (frames preloaded; \`pcap --file\`, batch 32)" "$ns" "$(mpps "$ns")" "-" "-" "~900 ns (conntrack share)" "-"

if [[ -f $ECHO_PCAP ]]; then
  read -r secs rss < <(replay_runs "$ECHO_PCAP")
  npk=82582
  row "throughput-500-concurrent-echo-conns.pcap, \`ctrack replay -q\`, whole process" "$(awk -v s="$secs" -v n=$npk 'BEGIN{printf "%.1f", s*1e9/n}')" "$(awk -v s="$secs" -v n=$npk 'BEGIN{printf "%.2f", n/s/1e6}')" "${rss} KiB" "-" "-" "-"
  ns=$(wl ns_per_pkt pcap --file "$ECHO_PCAP" --batch 32)
  row "... engine share (\`pcap --file\`, batch 32)" "$ns" "$(mpps "$ns")" "-" "-" "-" "-"
else
  echo "(skipped: $ECHO_PCAP not found)" >&2
fi

for n in 50000 1048576; do
  b=$(wl bytes_per_conn memory --flows "$n"); s=$("$W" memory --flows 1024 | field sizeof_conn)
  row "memory per established IPv4 TCP connection, $n entries, buckets = max = $n" "-" "-" "-" "$b (sizeof(Conn) = $s + 4 B bucket)" "312-344 B" "<= 128 B"
done
echo
echo "load:    $(uptime | sed 's/.*load average: //') (after)"

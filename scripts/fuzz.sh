#!/usr/bin/env bash
# Fuzzes the per-packet path (link layer, IP parsing, the whole engine) with
# libFuzzer under ASan+UBSan for SECONDS, then the capture reader (against
# libpcap as the oracle) for a third of that.
#   ./scripts/fuzz.sh [SECONDS]     (default 60)
# Seeds: every frame of samples/*.pcap and, when present, ../shared/corpus/*.pcap.
# New crashing inputs are left in build-fuzz/ as crash-*; the run fails on any.
# FUZZ_SEED fixes libFuzzer's random seed (CI derives it from the commit, so
# that running CI again on a commit explores the same inputs first); unset or
# 0, libFuzzer picks one, and prints it as "Seed:".
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
seed=${FUZZ_SEED:-0}
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCTRACK_FUZZ=ON -DCTRACK_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" parse_fuzz pcap_fuzz

seeds="$build/seeds"
mkdir -p "$seeds" "$build/corpus"
# The harness reads one selector byte (index of the link type) then the frame.
python3 - "$seeds" samples/*.pcap ../shared/corpus/*.pcap <<'PY'
import hashlib, os, struct, sys
out = sys.argv[1]
links = {1: 0, 101: 1, 0: 2, 108: 3, 9: 4, 113: 5, 276: 6, 228: 7}  # DLT -> harness index
for path in sys.argv[2:]:
    try:
        data = open(path, 'rb').read()
    except OSError:
        continue
    if len(data) < 24:
        continue
    magic = data[:4]
    endian = {b'\xd4\xc3\xb2\xa1': '<', b'\x4d\x3c\xb2\xa1': '<',
              b'\xa1\xb2\xc3\xd4': '>', b'\xa1\xb2\x3c\x4d': '>'}.get(magic)
    if endian is None:
        continue  # pcapng: not needed for seeding
    link = struct.unpack(endian + 'I', data[20:24])[0] & 0xffff
    if link not in links:
        continue
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + 'I', data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        blob = bytes([links[link]]) + frame
        with open(os.path.join(out, hashlib.sha1(blob).hexdigest()), 'wb') as f:
            f.write(blob)
PY
echo "fuzz: $(ls "$seeds" | wc -l) seeds, ${secs}s"
cd "$build"
./tests/fuzz/parse_fuzz -seed="$seed" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 corpus seeds

# The capture reader: seeds are the first 2 KiB of each sample capture.
cd ..
pseeds="$build/pcap-seeds"
mkdir -p "$pseeds" "$build/pcap-corpus"
for f in samples/*.pcap ../shared/corpus/*.pcap; do
  [[ -f $f ]] && head -c 2048 "$f" > "$pseeds/$(basename "$f")"
done
psecs=$(( secs / 3 > 10 ? secs / 3 : 10 ))
echo "pcap fuzz: $(ls "$pseeds" | wc -l) seeds, ${psecs}s"
cd "$build"
./tests/fuzz/pcap_fuzz -seed="$seed" -max_total_time="$psecs" -max_len=4096 -print_final_stats=1 pcap-corpus pcap-seeds

#!/bin/sh
# Replays the sample capture and shows what conntrack decides for every
# packet, then the table (as `conntrack -L` and /proc/net/nf_conntrack would
# show it) and the statistics. Run after ./scripts/setup.sh has built ctrack.
#
#   ./scripts/demo.sh            (uses $CTRACK, else build/ctrack)
set -eu
cd "$(dirname "$0")/.."

CTRACK=${CTRACK:-}
if [ -z "$CTRACK" ]; then
  for candidate in build/ctrack build-*/ctrack; do
    if [ -x "$candidate" ]; then CTRACK=$candidate; break; fi
  done
fi
if [ -z "$CTRACK" ] || [ ! -x "$CTRACK" ]; then
  echo "demo.sh: ctrack is not built; run ./scripts/setup.sh first (or set CTRACK=path)" >&2
  exit 1
fi

SAMPLE=samples/state-machine-walkthrough.pcap

echo "== ctrack replay $SAMPLE --table --stats"
"$CTRACK" replay "$SAMPLE" --table --stats 2>&1
echo
echo "== the same table as /proc/net/nf_conntrack"
"$CTRACK" replay -q "$SAMPLE" --table=proc
echo
echo "== packet 18 (ICMP error, RELATED) as JSON Lines"
"$CTRACK" replay "$SAMPLE" --format json | sed -n 18p

#!/bin/sh
# run_kdiff.sh CTRACK CAPTURE KNOWN [OPTIONS...]: runs `ctrack kernel-diff` on
# CAPTURE with OPTIONS and those of CAPTURE's sidecar .args file (if any). A missing capture
# (corpus not checked out) is a skip, reported loudly.
ctrack=$1 capture=$2 known=$3
shift 3
if [ ! -f "$capture" ]; then
  echo "SKIPPED: $capture not found" >&2
  exit 77
fi
args=""
sidecar="${capture%.*}.args"
[ -f "$sidecar" ] && args=$(cat "$sidecar")
# shellcheck disable=SC2086 # the sidecar holds several options
exec "$ctrack" kernel-diff "$@" $args --known-divergences "$known" "$capture"

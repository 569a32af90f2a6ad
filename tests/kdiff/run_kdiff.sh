#!/bin/sh
# run_kdiff.sh CTRACK CAPTURE KNOWN [OPTIONS...]: runs `ctrack kernel-diff` on
# CAPTURE with OPTIONS and those of CAPTURE's sidecar .args file (if any). The
# sidecar holds shell words (quotes allowed); `@DIR@` in it stands for the
# capture's directory (where scenario rulesets are written). A missing capture
# (corpus not checked out) is a skip, reported loudly.
ctrack=$1 capture=$2 known=$3
shift 3
if [ ! -f "$capture" ]; then
  echo "SKIPPED: $capture not found" >&2
  exit 77
fi
sidecar="${capture%.*}.args"
if [ -f "$sidecar" ]; then
  dir=$(dirname "$capture")
  args=$(sed "s|@DIR@|$dir|g" "$sidecar")
  eval "set -- \"\$@\" $args"
fi
exec "$ctrack" kernel-diff "$@" --known-divergences "$known" "$capture"

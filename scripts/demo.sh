#!/usr/bin/env bash
# The demo: build the kforge CLI, tune the int4 GEMV of examples/gemv/gemv.kf
# on this machine (decode bucket, a 2-minute budget: KFORGE_DEMO_BUDGET), emit
# its library for x86-avx2 and for this host's best target with the tuned
# schedule in the dispatch table, compile examples/gemv/main.c against it with
# plain `cc` + pkg-config, and run it.
# Exits with the example's status (0: the kernel matches the reference).
set -euo pipefail
# shellcheck source=scripts/build.sh
source "$(dirname "${BASH_SOURCE[0]}")/build.sh"
cd "$KFORGE_ROOT"

kforge_build --target kforge
kforge="$KFORGE_BUILD_DIR/tools/kforge/kforge"
out="$KFORGE_BUILD_DIR/demo"

# `kforge targets` marks the host's best target with [host]; name it once.
host="$("$kforge" targets | awk '/\[host\]/ {print $1; exit}')"
targets=(--target x86-avx2)
if [[ "$host" != "x86-avx2" ]]; then
  targets+=(--target host)
fi

rm -rf "$out"
mkdir -p "$out"
# The database lives next to the build, so a second demo run resumes (measures
# nothing twice) and only spends its budget on what is left.
db="$KFORGE_BUILD_DIR/demo-tune.db"
budget="${KFORGE_DEMO_BUDGET:-2m}"
echo "demo: kforge tune examples/gemv/gemv.kf --target host --buckets decode --budget $budget --db $db"
"$kforge" tune examples/gemv/gemv.kf --target host --buckets decode --budget "$budget" --db "$db"

echo "demo: kforge emit examples/gemv/gemv.kf ${targets[*]} (host = ${host:-unknown}) --db $db -o $out"
"$kforge" emit examples/gemv/gemv.kf "${targets[@]}" --db "$db" -o "$out"

export PKG_CONFIG_PATH="$out/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
read -r -a pc_flags <<<"$(pkg-config --cflags --libs kforge_gemv)"
echo "demo: cc -O2 examples/gemv/main.c \$(pkg-config --cflags --libs kforge_gemv)"
cc -O2 examples/gemv/main.c -o "$out/gemv" "${pc_flags[@]}"

echo "demo: $out/gemv"
"$out/gemv"

echo "demo: kforge report --db $db -o $out/report.html"
"$kforge" report --db "$db" -o "$out/report.html"
echo "demo: open $out/report.html for the tuned kernel against its roofline and the tuning's convergence"

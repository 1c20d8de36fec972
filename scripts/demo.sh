#!/usr/bin/env bash
# The demo: build the kforge CLI, emit the int4 GEMV library of
# examples/gemv/gemv.kf for x86-avx2 and for this host's best target, compile
# examples/gemv/main.c against it with plain `cc` + pkg-config, and run it.
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
echo "demo: kforge emit examples/gemv/gemv.kf ${targets[*]} (host = ${host:-unknown}) -o $out"
"$kforge" emit examples/gemv/gemv.kf "${targets[@]}" -o "$out"

export PKG_CONFIG_PATH="$out/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
read -r -a pc_flags <<<"$(pkg-config --cflags --libs kforge_gemv)"
echo "demo: cc -O2 examples/gemv/main.c \$(pkg-config --cflags --libs kforge_gemv)"
cc -O2 examples/gemv/main.c -o "$out/gemv" "${pc_flags[@]}"

echo "demo: $out/gemv"
exec "$out/gemv"

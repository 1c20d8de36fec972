#!/usr/bin/env bash
# `cmake --install` of this build into a fresh prefix, then the user project
# examples/cmake-consumer configured against that prefix alone (find_package),
# built (its library emitted by the installed kforge) and run.
#   consumer_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1" src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
test -x "$tmp/prefix/bin/kforge" || { echo "FAIL: no bin/kforge installed"; exit 1; }
test -f "$tmp/prefix/lib/cmake/kforge/kforgeConfig.cmake" || { echo "FAIL: no package config installed"; exit 1; }
# The installed kforge must not reach back into the source or build tree.
cmake -S "$src/examples/cmake-consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/consumer" -j2 > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
if grep -q -- "-I$src\|$build/" "$tmp/consumer/CMakeFiles/consumer.dir/flags.make"; then
  echo "FAIL: the consumer compiles against kforge's source or build tree"; exit 1
fi
"$tmp/consumer/consumer"
echo "installed kforge package: ok"

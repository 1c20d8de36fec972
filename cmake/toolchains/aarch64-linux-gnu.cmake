# Cross-compiling for aarch64 Linux on a Debian x86-64 host
# (g++-aarch64-linux-gnu, arm64 multiarch libraries in /usr/lib/aarch64-linux-gnu;
# scripts/install-deps.sh installs both). Programs run under
# `qemu-aarch64 -L / -cpu max`.
#
#   KFORGE_CXX_AARCH64  C++ compiler (default aarch64-linux-gnu-g++; the C
#                       compiler is its g++ -> gcc sibling)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT KFORGE_CXX_AARCH64)
  if(DEFINED ENV{KFORGE_CXX_AARCH64})
    set(KFORGE_CXX_AARCH64 "$ENV{KFORGE_CXX_AARCH64}")
  else()
    set(KFORGE_CXX_AARCH64 aarch64-linux-gnu-g++)
  endif()
endif()
set(CMAKE_CXX_COMPILER "${KFORGE_CXX_AARCH64}")
string(REGEX REPLACE "g\\+\\+([^/]*)$" "gcc\\1" _kforge_cc "${KFORGE_CXX_AARCH64}")
set(CMAKE_C_COMPILER "${_kforge_cc}")

# Debian multiarch: arm64 packages live under / (…/lib/aarch64-linux-gnu,
# found through CMAKE_LIBRARY_ARCHITECTURE), the cross libc under
# /usr/aarch64-linux-gnu. Host programs (tools) come from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# How to run a target program here. `-L /`, not `-L /usr/aarch64-linux-gnu`:
# the programs link multiarch libraries (libtbb.so.12 in /usr/lib/aarch64-linux-gnu)
# that the dynamic loader finds outside the cross sysroot, and with that -L the
# loader of the cross libc (libc6-arm64-cross) would run next to the libc.so.6
# of libc6:arm64 -- a mismatched pair that hangs in TBB's first parallel_for.
# From / both come from libc6:arm64, a consistent installation.
find_program(KFORGE_QEMU_AARCH64 qemu-aarch64)
if(KFORGE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${KFORGE_QEMU_AARCH64};-L;/;-cpu;max")
endif()

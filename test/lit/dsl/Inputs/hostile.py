#!/usr/bin/env python3
"""Writes a hostile kernel file to stdout: large, but within the 16 MiB limit,
shaped to hit a checker cost that once grew faster than the input.

  hostile.py many-errors   10,000 kernels of an unknown family, 10,000 schedules
                           of undeclared kernels (every name gets a lookup)
  hostile.py long-names    20,000 kernels with 63-character names that differ
                           only at the end, and schedules for near misses
  hostile.py long-name     one 4 MiB kernel name and a schedule for another
  hostile.py long-list     a tune list of 400,000 values (2.7 MB)
"""
import sys


def many_errors(out):
    for i in range(10000):
        out.write(f"kernel k{i} : nofam {{\n}}\n")
    for i in range(10000):
        out.write(f"schedule s{i} for x86-avx2 {{\n}}\n")


def long_names(out):
    base = "x" * 58
    for i in range(20000):
        out.write(f"kernel {base}{i:05d} : hadamard {{\n  size N=64\n  input f32\n  output f32\n}}\n")
    for i in range(60):
        out.write(f"schedule {base}{i:03d}zz for x86-avx2 {{\n}}\n")


def long_name(out):
    out.write("kernel " + "a" * (4 << 20) + " : hadamard {\n}\nschedule zz for x86-avx2 {\n}\n")


def long_list(out):
    values = ", ".join(str(i) for i in range(1, 400001))
    out.write("kernel lin : lowbit_linear {\n"
              "  weight int4 shape=[N=4096, K=4096] scale=f16 group=128\n"
              "  input f32\n  output f32\n}\n"
              "schedule lin for x86-avx2 {\n  tune {\n    split n in [" + values + "]\n  }\n}\n")


CASES = {"many-errors": many_errors, "long-names": long_names, "long-name": long_name, "long-list": long_list}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        sys.exit("usage: hostile.py " + "|".join(CASES))
    CASES[sys.argv[1]](sys.stdout)

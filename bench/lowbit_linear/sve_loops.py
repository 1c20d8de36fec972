#!/usr/bin/env python3
"""SVE beside NEON without an SVE machine: the inner loops' static cost.

qemu gives no timing, so this compares what each target's decode kernel
executes per weight code: `kforge lower --emit=asm` for arm64-neon-dotprod
(Halide) and arm64-sve (MLIR), the innermost loop holding `sdot` (for SVE,
one per strips-per-pass version: 4, 2 and 1 strips, which the kernel picks by
vector length), its instruction count, and llvm-mca's cycles per iteration
on Neoverse V1 (256-bit SVE) and V2 (128-bit SVE).

Codes per iteration: NEON 16 per sdot; SVE VL/8 per sdot, so the same SVE
loop covers twice the codes at twice the vector length. A Neoverse V1 runs
the 2-strip loop (VL 256), a V2 the 4-strip loop (VL 128).

    bench/lowbit_linear/sve_loops.py --kforge build/tools/kforge/kforge [--mca llvm-mca-19]

With --rows R (an even R: prefill, R rows of x per pass over the weights)
it compares instead arm64-sve (`sdot`, one per row) with arm64-sve2-i8mm
(`smmla`, one per pair of rows) on the bucket=prefill variant, per 1000
multiply-adds (sdot 16 per 128 bits, smmla 32).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

KERNELS = {  # name: (weight line, bits per code as packed)
    "int8": ("weight int8 shape=[N=4096, K=4096] scale=f32 group=channel", 8),
    "int4": ("weight int4 shape=[N=4096, K=4096] scale=f32 group=channel", 4),
    "int3": ("weight int3 shape=[N=4096, K=4096] scale=f32 group=channel", 3),
    "int2": ("weight int2 shape=[N=4096, K=4096] scale=f32 group=channel", 2),
    "ternary-b3": ("weight ternary shape=[N=4096, K=4096] scale=f32 group=channel packing=base3", 1.6),
}


DOTS = ("sdot", "usdot", "smmla")


def loops_with_dots(asm):
    """Every backward-branch loop body containing sdot, usdot or smmla."""
    lines = asm.splitlines()
    labels = {}
    for i, line in enumerate(lines):
        m = re.match(r"^([.\w$]+):", line)
        if m:
            labels[m.group(1)] = i
    loops = []
    for i, line in enumerate(lines):
        m = re.match(r"^\s*(b\.\w+|b|cbnz|cbz|tbnz|tbz)\s+.*?([.\w$]+)\s*(//.*)?$", line)
        if not m or m.group(2) not in labels or labels[m.group(2)] >= i:
            continue
        body = []
        for raw in lines[labels[m.group(2)] + 1:i + 1]:
            text = re.sub(r"\s*//.*$", "", raw).strip()
            if text and not text.startswith(".") and not re.match(r"^[.\w$]+:", text):
                body.append(text)
        if any(b.split()[0] in DOTS for b in body):
            loops.append(body)
    return loops


def macs_at_128(body):
    """Multiply-adds one pass of the loop does at VL 128."""
    return sum(16 if b.split()[0] in ("sdot", "usdot") else 32 if b.split()[0] == "smmla" else 0 for b in body)


def prefill_table(args):
    """arm64-sve (sdot per row) beside arm64-sve2-i8mm (smmla per row pair), R rows of x."""
    print("| format | target | loop | instrs/iter | MACs/iter at VL 128 | instrs per 1k MACs | V2 cycles per 1k MACs |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (weight, _) in KERNELS.items():
            if name == "ternary-b3":
                continue  # five quads per k-block: sdot on both targets
            kf = os.path.join(tmp, "k.kf")
            with open(kf, "w") as f:
                f.write("kernel k : lowbit_linear {\n  %s\n  input int8\n  output f32\n}\n" % weight)
                for target in ("arm64-sve", "arm64-sve2-i8mm"):
                    f.write("schedule k for %s bucket=prefill { split m %d }\n" % (target, args.rows))
            for target in ("arm64-sve", "arm64-sve2-i8mm"):
                asm = subprocess.run([args.kforge, "lower", kf, "--target", target, "--emit=asm"],
                                     capture_output=True, text=True, check=True).stdout
                asm = asm[asm.index("bucket=prefill"):]  # the prefill variant's function
                loops = {}
                for body in loops_with_dots(asm):
                    n = macs_at_128(body)
                    if n not in loops or len(body) < len(loops[n]):
                        loops[n] = body
                if not loops:
                    print("no dot-product loop for", name, target, file=sys.stderr)
                    return 1
                most = max(loops)
                max_strips = max(1, min(4, 8 // args.rows))  # LowbitLinearMlir.cpp: strips per pass
                for n, body in sorted(loops.items(), reverse=True):
                    strips = max(1, round(max_strips * n / most))
                    label = "%d strip%s" % (strips, "s" if strips > 1 else "")
                    print("| %s | %s | %s | %d | %d | %.1f | %.1f |" % (
                        name, target, label, len(body), n, 1000.0 * len(body) / n,
                        1000.0 * mca_cycles(args.mca, body, "neoverse-v2") / n))
    return 0


def innermost_by_sdots(loops):
    best = {}
    for body in loops:
        n = sum(1 for b in body if b.split()[0] in DOTS)
        if n not in best or len(body) < len(best[n]):
            best[n] = body
    return best


def mca_cycles(mca, body, cpu):
    with tempfile.NamedTemporaryFile("w", suffix=".s", delete=False) as f:
        f.write("\n".join(body) + "\n")
        path = f.name
    try:
        out = subprocess.run([mca, "-mtriple=aarch64", "-mcpu=" + cpu, "-iterations=200", path],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(path)
    cycles = int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))
    return cycles / 200.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kforge", required=True)
    ap.add_argument("--mca", default="llvm-mca-19")
    ap.add_argument("--rows", type=int, default=0, help="an even number of x rows: the prefill comparison")
    args = ap.parse_args()
    if args.rows:
        return prefill_table(args)
    print("| format | target | loop | instrs/iter | codes/iter at VL 128 / 256 | instrs per weight byte at VL 128 / 256 |"
          " V2 cycles/iter | V1 cycles/iter |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (weight, bits) in KERNELS.items():
            kf = os.path.join(tmp, "k.kf")
            with open(kf, "w") as f:
                f.write("kernel k : lowbit_linear {\n  %s\n  input int8\n  output f32\n}\n" % weight)
            # arm64-sve2-i8mm differs in decode only for 8-bit codes (usdot, no offset)
            targets = ("arm64-neon-dotprod", "arm64-sve") + (("arm64-sve2-i8mm",) if name == "int8" else ())
            for target in targets:
                asm = subprocess.run([args.kforge, "lower", kf, "--target", target, "--emit=asm"],
                                     capture_output=True, text=True, check=True).stdout
                loops = innermost_by_sdots(loops_with_dots(asm))
                if not loops:
                    print("no sdot loop for", name, target, file=sys.stderr)
                    return 1
                for n, body in sorted(loops.items(), reverse=True):
                    if target == "arm64-neon-dotprod" and n != max(loops):
                        continue
                    sve = target != "arm64-neon-dotprod"
                    codes = [n * 16, n * 32] if sve else [n * 16, n * 16]
                    per_byte = ["%.2f" % (len(body) / (c * bits / 8)) for c in codes]
                    strips = n // (max(loops) // 4)
                    label = ("%d strip" % strips + ("s" if strips > 1 else "")) if sve else "tile"
                    print("| %s | %s | %s | %d | %d / %d | %s / %s | %.1f | %.1f |" % (
                        name, target, label, len(body), codes[0], codes[1], per_byte[0], per_byte[1],
                        mca_cycles(args.mca, body, "neoverse-v2"), mca_cycles(args.mca, body, "neoverse-v1")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

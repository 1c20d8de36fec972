#!/usr/bin/env python3
"""`kforge report` (tools/kforge/Report.h), two ctests:

  report_test.py cli KFORGE       the page's content, and the error paths
  report_test.py chromium KFORGE  the page in Debian's headless Chromium: no
                                  console error, data points drawn, a
                                  screenshot that is not blank

The tuning database is made with `kforge db import` from
Inputs/tune-records.jsonl: synthetic records in the form `kforge db export`
writes (five tasks; ok, build_error, crash, timeout and wrong candidates; one
task with no ok candidate; the roofline's inputs of schema 3 in every task
but hadamard's, whose records are as a kforge before schema 3 wrote them, so
the page has both the classic roofline and the time-against-roofline-time
fallback), so the test needs no tuning run. The quantize
report Inputs/quantize-report.json is in the form `kforge quantize
--report-json` writes. Python's standard library only (the PNG is decoded
with zlib + struct).
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
RECORDS = os.path.join(HERE, "Inputs", "tune-records.jsonl")
QUANTIZE = os.path.join(HERE, "Inputs", "quantize-report.json")
CHROMIUM = "/usr/bin/chromium"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def run(*args, timeout=120):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def make_db(kforge, work, name="tune.db", records=RECORDS):
    db = os.path.join(work, name)
    r = run(kforge, "db", "import", "--db", db, records)
    if r.returncode != 0:
        sys.exit(f"kforge db import failed ({r.returncode}): {r.stdout}{r.stderr}")
    return db


def report(kforge, *args):
    return run(kforge, "report", *args)


def svg(html, svg_id):
    m = re.search(r'<svg[^>]*\bid="%s".*?</svg>' % re.escape(svg_id), html, re.S)
    return m.group(0) if m else ""


def data_marks(fragment):
    return len(re.findall(r'<(?:circle|path)\b[^>]*\bclass="pt\b', fragment))


# ---------------------------------------------------------------------------


def test_cli(kforge, work):
    db = make_db(kforge, work)
    out = os.path.join(work, "report.html")
    r = report(kforge, "--db", db, "--quantize", QUANTIZE, "-o", out)
    check(r.returncode == 0, f"kforge report exits 0 (got {r.returncode}: {r.stderr})")
    check("5 tuned tasks (40 records), 1 quantize report" in r.stdout, f"summary line: {r.stdout!r}")
    html = open(out, encoding="utf-8").read()

    # Self-contained: no URL of any kind, nothing loaded from elsewhere.
    check(not re.search(r"https?://", html), "no http:// or https:// in the page")
    check(not re.search(r'\b(?:src|href)\s*=', html), "no src= or href= attribute in the page")
    check(not re.search(r"<link\b|@import|url\((?!#)", html), "no <link>, @import or url() other than #fragments")

    # The roofline: one point per task with an ok candidate (4 of 5), those
    # with the roofline's inputs (3) at their intensity and GOP/s under their
    # machine's ceilings, the one without (hadamard) in the fallback plot.
    roof = svg(html, "roofline")
    check(roof != "", "the page has the roofline plot")
    check(data_marks(roof) == 3, f"roofline: 3 data points (got {data_marks(roof)})")
    for label in ("arithmetic intensity", "achieved GOP/s", "down_proj · x86-avx512vnni · decode",
                  "down_proj · x86-avx512vnni · prefill", "att · x86-avx512vnni · prefill"):
        check(label in roof, f"roofline plot has {label!r}")
    check("rotate ·" not in roof, "the task without the roofline's inputs is not in the roofline plot")
    # Two ceilings: the int8 peak of down_proj's records and the f32 peak of att's,
    # each the median of its records, both with the machine's bandwidth; a legend entry each.
    ceilings = re.findall(r'<path class="ceiling" data-bandwidth="([^"]+)" data-peak="([^"]+)"', roof)
    check(len(ceilings) == 2, f"roofline: 2 ceilings (got {ceilings})")
    records = [json.loads(l) for l in open(RECORDS)]
    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    for kernel, (bw, peak) in zip(("down_proj", "att"), sorted(ceilings, key=lambda c: -float(c[1]))):
        mine = [r for r in records if r["kernel"] == kernel and r["status"] == "ok" and r.get("ops")]
        want_peak, want_bw = median([r["computePeak"] for r in mine]), median([r["readBandwidth"] for r in mine])
        check(abs(float(peak) / want_peak - 1) < 1e-5, f"{kernel}'s ceiling: peak {peak} = median {want_peak}")
        check(abs(float(bw) / want_bw - 1) < 1e-5, f"{kernel}'s ceiling: bandwidth {bw} = median {want_bw}")
        label = f"roofline, machine 1: {float('%.3g' % (want_bw / 1e9)):g} GB/s, {float('%.3g' % (want_peak / 1e9)):g} GOP/s"
        check(label in roof, f"legend entry {label!r}")
    # Each point where its best record puts it: intensity ops/bytes, GOP/s ops/seconds.
    best = {}
    for r in records:
        if r["status"] == "ok" and r.get("ops"):
            k = (r["kernel"], r["shape"])
            if k not in best or r["seconds"] < best[k]["seconds"]:
                best[k] = r
    titles = re.findall(r'class="pt"[^>]*><title>([^<]*)</title>', roof)
    check(len(titles) == 3, f"3 point titles (got {len(titles)})")
    for (kernel, shape), r in best.items():
        gops, intensity = r["ops"] / r["seconds"] / 1e9, r["ops"] / r["bytes"]
        text = f"{float('%.3g' % gops):g} GOP/s at {float('%.3g' % intensity):g} ops/byte"
        check(any(t.startswith(kernel + " ") and text in t for t in titles), f"point of {kernel} {shape}: {text!r} in {titles}")
    older = svg(html, "roofline-time")
    check(older != "", "the page has the fallback plot for records without the roofline's inputs")
    check(data_marks(older) == 1, f"fallback plot: 1 data point (got {data_marks(older)})")
    for label in ("roofline (100%)", "50% of roofline", "µs, log scale", "rotate · x86-avx512 · decode"):
        check(label in older, f"fallback plot has {label!r}")
    check(re.search(r'id="roofline-fallback">1 task is plotted as measured time per call against the roofline time '
                    r'instead: 1 has records of a kforge before schema 3', html) is not None,
          "the page says why one task is in the fallback plot")
    # The table: achieved and measured GB/s of down_proj decode's best (bytes / seconds, its readBandwidth).
    r = best[("down_proj", "M=1 N=4096 K=11008")]
    for v in (r["bytes"] / r["seconds"] / 1e9, r["readBandwidth"] / 1e9):
        check(f'<td class="n">{float("%.3g" % v):g}</td>' in html, f"table has {float('%.3g' % v):g} (GB/s)")
    # Convergence: one plot per task, one mark per measured candidate (failed ones too).
    counts = {"conv-0": 16, "conv-1": 10, "conv-2": 7, "conv-3": 3, "conv-4": 4}
    for plot, n in counts.items():
        got = len(re.findall(r'class="pt (?:cand|fail)"', svg(html, plot)))
        check(got == n, f"{plot}: {n} candidate marks (got {got})")
    check(len(re.findall(r'class="pt fail"', svg(html, "conv-0"))) == 2, "conv-0: its 2 failed candidates marked")
    check("no candidate ran ok" in html, "the task without an ok candidate says so")
    # lowbit_linear GOP/s: 2·1·4096·11008 ops over the best time.
    check("Intel(R) Xeon(R) Processor" in html and db in html, "machine and database named")
    # The accuracy table: a column pair per kernel, the chosen one marked.
    check(html.count('<table class="accuracy">') == 1, "one accuracy table")
    check("encoder.layer.0.intermediate.dense.weight" in html.replace("<wbr>", ""), "layer names in the table")
    # ... wrapping after their dots only, not letter by letter.
    check('<td class="layer">encoder.<wbr>layer.<wbr>0.<wbr>intermediate.<wbr>dense.<wbr>weight</td>' in html,
          "a layer name may wrap at its dots")
    marked = len(re.findall(r'<td class="n chosen"[^>]*>★', html))
    check(marked == 4, f"each of the 4 layers has its chosen kernel marked (got {marked})")
    for k in ("lin_int8", "lin_int4_g32", "lin_q8_0"):
        check(f"<th colspan=\"2\">{k}</th>" in html, f"column of {k}")

    # Escaping: text from the files is never markup.
    q = json.load(open(QUANTIZE))
    q["checkpoint"] = "<script>alert('x')</script> & co"
    q["layers"][0]["name"] = 'w"><img onerror=1>'
    q["layers"][1]["results"][1]["weight_rel_err"] = None  # what kforge quantize writes for an infinite error
    evil = os.path.join(work, "evil.json")
    json.dump(q, open(evil, "w"))
    r = report(kforge, "--db", db, "--quantize", evil, "-o", os.path.join(work, "evil.html"))
    check(r.returncode == 0, f"report of odd names exits 0 ({r.stderr})")
    page = open(os.path.join(work, "evil.html"), encoding="utf-8").read()
    check("<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in page,
          "the checkpoint name is escaped")
    check("<img" not in page and "w&quot;&gt;&lt;img onerror=1&gt;" in page, "the layer name is escaped")
    check(">not finite</td>" in page, "a null weight_rel_err shows as 'not finite'")

    # An empty database: the page says so.
    empty_lines = os.path.join(work, "empty.jsonl")
    open(empty_lines, "w").close()
    empty = make_db(kforge, work, "empty.db", empty_lines)
    r = report(kforge, "--db", empty, "-o", os.path.join(work, "empty.html"))
    check(r.returncode == 0, f"report of an empty database exits 0 ({r.stderr})")
    page = open(os.path.join(work, "empty.html"), encoding="utf-8").read()
    check("No tuned kernels" in page and "<svg" not in page, "an empty database: 'No tuned kernels', no plot")

    # Errors: nonzero, the path named, and an existing report left as it was.
    keep = "previous report\n"
    with open(out, "w") as f:
        f.write(keep)
    missing = os.path.join(work, "no-such.db")
    r = report(kforge, "--db", missing, "-o", out)
    check(r.returncode != 0 and f"{missing}: no such database" in r.stderr,
          f"missing database: nonzero and '{missing}: no such database' (got {r.returncode}: {r.stderr!r})")
    check(not os.path.exists(missing), "a missing database is not created")
    bad_cases = {
        "not-json.json": ("{ not json", "not JSON"),
        "other.json": ('{"layers": []}', 'no "kforge_quantize_report" field'),
        "version.json": ('{"kforge_quantize_report": 2, "checkpoint": "m", "layers": []}', "this kforge reads version 1"),
        "layer.json": ('{"kforge_quantize_report": 1, "checkpoint": "m", "layers": [{"name": "a", "n": "384", '
                       '"k": 384, "kernel": "x", "results": []}]}', 'layers[0]: "n" is not an integer'),
        "result.json": ('{"kforge_quantize_report": 1, "checkpoint": "m", "layers": [{"name": "a", "n": 1, "k": 1, '
                        '"kernel": "x", "results": [{"kernel": "x"}]}]}', 'layers[0].results[0]: has no "weight_rel_err"'),
    }
    for name, (text, why) in bad_cases.items():
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        r = report(kforge, "--db", db, "--quantize", path, "-o", out)
        check(r.returncode != 0 and f"{path}: " in r.stderr and why in r.stderr,
              f"{name}: nonzero and '{path}: ...{why}' (got {r.returncode}: {r.stderr!r})")
    r = report(kforge, "--db", db, "--quantize", os.path.join(work, "absent.json"), "-o", out)
    check(r.returncode != 0 and "absent.json: no such file" in r.stderr, f"absent quantize file: {r.stderr!r}")
    check(open(out).read() == keep, "a failed run leaves the existing report as it was")
    check(not [f for f in os.listdir(work) if ".tmp-" in f], "no temporary file left behind")


# ---------------------------------------------------------------------------


def chromium(work, url, *extra):
    """Runs headless Chromium on url; (returncode, stdout, stderr)."""
    profile = tempfile.mkdtemp(dir=work, prefix="chromium-profile-")
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync", "--hide-scrollbars",
            "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0", "--window-size=1200,2400",
            *extra, url]
    r = subprocess.run(args, capture_output=True, text=True, timeout=180)
    return r.returncode, r.stdout, r.stderr


def console_messages(stderr):
    # Chromium logs each console message of the page as ...:CONSOLE(line)] "text", source: ...
    return [l for l in stderr.splitlines() if re.search(r":CONSOLE[(:]", l)]


def png_pixels(path):
    """(width, height, bytes per pixel, unfiltered rows) of an 8-bit RGB/RGBA PNG, non-interlaced."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"PNG of depth {depth}, colour type {ctype}, interlace {interlace}")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def sampled_pixels(w, bpp, rows, step=4):
    """Every step-th pixel of every step-th row, as (r, g, b)."""
    return [tuple(row[x * bpp:x * bpp + 3]) for row in rows[::step] for x in range(0, w, step)]


def test_chromium(kforge, work):
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium package (scripts/install-deps.sh does)")

    # The detector works: a page with a console error and an uncaught exception is caught.
    canary = os.path.join(work, "canary.html")
    with open(canary, "w") as f:
        f.write("<!DOCTYPE html><html><body><p>canary</p><script>console.error('kforge-canary-console');"
                "throw new Error('kforge-canary-uncaught');</script></body></html>")
    _, _, err = chromium(work, "file://" + canary, "--dump-dom")
    seen = "\n".join(console_messages(err))
    if not check("kforge-canary-console" in seen and "kforge-canary-uncaught" in seen,
                 "Chromium's log shows a canary page's console.error and uncaught exception"):
        print(err[-3000:])

    db = make_db(kforge, work)
    page = os.path.join(work, "report.html")
    r = report(kforge, "--db", db, "--quantize", QUANTIZE, "-o", page)
    if r.returncode != 0:
        sys.exit(f"kforge report failed ({r.returncode}): {r.stderr}")
    url = "file://" + page

    # The DOM after the page's script ran: the data marks it counted.
    rc, dom, err = chromium(work, url, "--dump-dom")
    check(rc == 0, f"chromium --dump-dom exits 0 (got {rc})")
    check(console_messages(err) == [], "no console message while loading the report: " + repr(console_messages(err)))
    m = re.search(r'data-points-drawn="(\d+)"', dom)
    check(m is not None, "the page's script ran (body data-points-drawn)")
    check(m is not None and int(m.group(1)) > 0, "the page's script counted data points")
    check(data_marks(svg(dom, "roofline")) == 3, "the roofline plot in the DOM has its 3 data points")
    check(data_marks(svg(dom, "roofline-time")) == 1, "the fallback plot in the DOM has its 1 data point")
    check(len(re.findall(r'<path class="ceiling"', svg(dom, "roofline"))) == 2, "the DOM's roofline has 2 ceilings")
    for i in range(5):
        check(data_marks(svg(dom, f"conv-{i}")) > 0, f"convergence plot conv-{i} has data points")

    # The screenshot: written, the page's size, and not blank.
    shot = os.path.join(work, "report.png")
    rc, _, err = chromium(work, url, "--screenshot=" + shot)
    check(rc == 0, f"chromium --screenshot exits 0 (got {rc})")
    check(console_messages(err) == [], "no console message in the screenshot run: " + repr(console_messages(err)))
    if check(os.path.exists(shot) and os.path.getsize(shot) > 0, f"screenshot {shot} written"):
        w, h, bpp, rows = png_pixels(shot)
        check((w, h) == (1200, 2400), f"screenshot 1200x2400 (got {w}x{h})")
        pixels = sampled_pixels(w, bpp, rows)
        background = tuple(rows[2][(w - 3) * bpp:(w - 3) * bpp + 3])
        ink = sum(1 for px in pixels if max(abs(px[i] - background[i]) for i in range(3)) > 40)
        colour = sum(1 for px in pixels if max(px) - min(px) > 80)
        check(ink > 2000, f"screenshot has text and plots ({ink} sampled non-background pixels)")
        check(colour > 20, f"screenshot has coloured data marks ({colour} sampled coloured pixels)")
        keep = os.environ.get("KFORGE_REPORT_SCREENSHOT")
        if keep:
            shutil.copyfile(shot, keep)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("cli", "chromium"):
        sys.exit("usage: report_test.py cli|chromium KFORGE")
    mode, kforge = sys.argv[1], os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory(prefix="kforge-report-test-") as work:
        (test_cli if mode == "cli" else test_chromium)(kforge, work)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("ok")


if __name__ == "__main__":
    main()

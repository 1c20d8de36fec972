/* examples/gemv: use a kforge-emitted int4 linear layer from plain C.
 *
 * `kforge emit examples/gemv/gemv.kf ...` writes libkforge_gemv.a and
 * kforge_gemv.h; this program links them and
 *   1. builds a random int4 layer (codes 0..15 and f16 group scales, as a QAT
 *      checkpoint stores them), packs it, runs y = x . W^T for one token and
 *      compares with a double-precision reference computed here from the
 *      codes and scales (docs/formats.md: w = s * (c - 8));
 *   2. measures how fast the kernel streams its packed weights from DRAM, and,
 *      in the same run, alternating with it, how fast a plain read loop streams
 *      the same number of bytes: decode-time GEMV is memory bound, so that read
 *      bandwidth is its roofline.
 *
 * Usage: gemv [--check-only]      (KFORGE_VARIANT=<name> forces a variant)
 * Exit status: 0 if the result matches the reference, 1 otherwise or on error.
 *
 * C99 plus POSIX threads and clocks; only kforge.h and kforge_gemv.h from kforge.
 */
#define _POSIX_C_SOURCE 200809L

#include <kforge/kforge.h>
#include <kforge_gemv.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

/* Every kforge call returns a kf_status; stop with its name and message. */
#define CHECK(call)                                                          \
    do {                                                                     \
        kf_status check_status_ = (call);                                    \
        if (check_status_ != KF_OK) {                                        \
            fprintf(stderr, "error: %s failed: %s: %s\n", #call,             \
                    kf_status_name(check_status_), kf_last_error());         \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "error: out of memory allocating %.1f MiB\n", (double)bytes / MIB);
        exit(1);
    }
    return p;
}

/* splitmix64: a fixed seed gives the same layer on every run. */
static uint64_t rng_state = 0x6b666f7267650001ull;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* Uniform in [0, 1). */
static double rng_uniform(void) { return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0); }

/* IEEE binary16 bit pattern of f, rounded to nearest even. */
static uint16_t float_to_half(float f) {
    uint32_t x, absx, sign, h, rem;
    memcpy(&x, &f, sizeof x);
    sign = (x >> 16) & 0x8000u;
    absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);  /* NaN */
    if (absx >= 0x47800000u) return (uint16_t)(sign | 0x7c00u); /* >= 2^16: inf */
    if (absx < 0x38800000u) {                                   /* < 2^-14: subnormal */
        float a;
        memcpy(&a, &absx, sizeof a);
        return (uint16_t)(sign | (uint32_t)lrintf(a * 16777216.0f)); /* units of 2^-24 */
    }
    h = (absx - 0x38000000u) >> 13; /* rebias exponent 127 -> 15, keep 10 mantissa bits */
    rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h; /* a carry may give inf: right */
    return (uint16_t)(sign | h);
}

static double half_to_double(uint16_t h) {
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000u) ? -v : v;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Size of the last-level (L3) cache in bytes, 0 if sysfs does not say. */
static size_t llc_bytes(void) {
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    unsigned long long v = 0;
    char unit = 0;
    if (!f) return 0;
    if (fscanf(f, "%llu%c", &v, &unit) < 1) v = 0;
    fclose(f);
    if (unit == 'K') v <<= 10;
    else if (unit == 'M') v <<= 20;
    else if (unit == 'G') v <<= 30;
    return (size_t)v;
}

/* ---- the plain read loop that gives the bandwidth roofline ---------------- */

static uint64_t sum_u64(const uint64_t *p, size_t n) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
    }
    for (; i < n; ++i) a0 += p[i];
    return a0 + a1 + a2 + a3;
}

typedef struct {
    const uint64_t *p;
    size_t n;
    uint64_t sum;
} read_job;

static void *read_worker(void *arg) {
    read_job *job = (read_job *)arg;
    job->sum = sum_u64(job->p, job->n);
    return NULL;
}

static volatile uint64_t read_sink; /* keeps the sums alive */

/* Read all n words with `threads` threads (each a contiguous slice); seconds. */
static double read_pass(const uint64_t *buf, size_t n, int threads) {
    pthread_t tid[256];
    read_job jobs[256];
    uint64_t total = 0;
    double t0 = now_seconds();
    int i;
    for (i = 0; i < threads; ++i) {
        jobs[i].p = buf + n * (size_t)i / (size_t)threads;
        jobs[i].n = n * (size_t)(i + 1) / (size_t)threads - n * (size_t)i / (size_t)threads;
        if (i > 0 && pthread_create(&tid[i], NULL, read_worker, &jobs[i]) != 0) {
            fprintf(stderr, "error: pthread_create failed\n");
            exit(1);
        }
    }
    read_worker(&jobs[0]); /* this thread takes slice 0 */
    for (i = 1; i < threads; ++i) pthread_join(tid[i], NULL);
    for (i = 0; i < threads; ++i) total += jobs[i].sum;
    read_sink = total;
    return now_seconds() - t0;
}

/* ---- correctness --------------------------------------------------------- */

/* ||y - ref|| / ||ref|| for y = x . W^T, W from int4 codes and f16 group scales. */
static double relative_error(const float *y, const float *x, const uint8_t *codes,
                             const uint16_t *scales, int64_t n, int64_t k, int64_t group) {
    int64_t groups = (k + group - 1) / group, r, g, c;
    double err2 = 0.0, ref2 = 0.0;
    for (r = 0; r < n; ++r) {
        double ref = 0.0;
        for (g = 0; g < groups; ++g) {
            int64_t end = (g + 1) * group < k ? (g + 1) * group : k;
            double part = 0.0;
            for (c = g * group; c < end; ++c) part += (double)x[c] * (double)((int)codes[r * k + c] - 8);
            ref += half_to_double(scales[r * groups + g]) * part;
        }
        err2 += ((double)y[r] - ref) * ((double)y[r] - ref);
        ref2 += ref * ref;
    }
    return ref2 > 0.0 ? sqrt(err2 / ref2) : sqrt(err2);
}

/* ---- speed --------------------------------------------------------------- */

typedef struct {
    kf_linear **layers;
    int count;
    size_t packed_bytes; /* over all layers */
    const float *x;
    float *y;
    const uint64_t *read_buf;
    size_t read_words;
} stream_setup;

/* Alternate a pass over every layer with a read pass over as many bytes until
 * the kernel has run about `seconds`; prints one line for this thread count. */
static void measure(const stream_setup *s, int threads, double seconds) {
    double kernel_time = 0.0, read_time = 0.0, t0, kernel_gbs, read_gbs;
    int rounds = 0, i;
    /* Warm-up: first touches, thread-pool start-up. */
    for (i = 0; i < s->count; ++i) CHECK(kf_linear_run(s->layers[i], s->x, 1, s->y, threads));
    read_pass(s->read_buf, s->read_words, threads);
    while (rounds < 3 || kernel_time < seconds) {
        t0 = now_seconds();
        for (i = 0; i < s->count; ++i) CHECK(kf_linear_run(s->layers[i], s->x, 1, s->y, threads));
        kernel_time += now_seconds() - t0;
        read_time += read_pass(s->read_buf, s->read_words, threads);
        ++rounds;
    }
    kernel_gbs = (double)rounds * (double)s->packed_bytes / kernel_time * 1e-9;
    read_gbs = (double)rounds * (double)s->read_words * 8.0 / read_time * 1e-9;
    printf("speed: %d thread%s: %.1f GB/s of packed weights = %.2f of read bandwidth (%.1f GB/s)"
           ", %.3f ms per GEMV\n",
           threads, threads == 1 ? "" : "s", kernel_gbs, kernel_gbs / read_gbs, read_gbs,
           1e3 * kernel_time / ((double)rounds * s->count));
}

int main(int argc, char **argv) {
    const kf_kernel_def *def = kf_gemv_down_proj();
    kf_linear_info info;
    kf_linear *layer = NULL;
    int check_only = argc > 1 && strcmp(argv[1], "--check-only") == 0;
    int64_t n, k, group, groups, i;
    uint8_t *codes;
    uint16_t *scales;
    float *x, *y;
    double err;
    int v, ok = 1, pass;

    if (argc > 1 && !check_only) {
        fprintf(stderr, "usage: %s [--check-only]\n", argv[0]);
        return 2;
    }

    CHECK(kf_linear_query(def, &info));
    printf("kernel %s: %s weights, %lld x %lld, scale group %d, %d variant%s:", info.kernel_name,
           info.weight_format, (long long)info.n, (long long)info.k, info.group, info.num_variants,
           info.num_variants == 1 ? "" : "s");
    for (v = 0; v < info.num_variants; ++v)
        printf(" %s%s", kf_variant_name(def, v), kf_variant_supported(def, v) ? "" : " (not on this CPU)");
    printf("\n");
    if (info.scale_type != KF_SCALE_F16 || info.n <= 0 || info.k <= 0) {
        fprintf(stderr, "error: this example expects a fixed-shape kernel with f16 scales\n");
        return 1;
    }

    n = info.n;
    k = info.k;
    group = info.group > 0 ? info.group : k;
    groups = (k + group - 1) / group;

    /* A random layer: codes 0..15, scales of magnitude ~0.01, inputs in [-1, 1). */
    codes = (uint8_t *)xmalloc((size_t)(n * k));
    scales = (uint16_t *)xmalloc((size_t)(n * groups) * sizeof *scales);
    x = (float *)xmalloc((size_t)k * sizeof *x);
    y = (float *)xmalloc((size_t)n * sizeof *y);
    for (i = 0; i < n * k; ++i) codes[i] = (uint8_t)(rng_next() >> 60);
    for (i = 0; i < n * groups; ++i) scales[i] = float_to_half((float)(0.005 + 0.01 * rng_uniform()));
    for (i = 0; i < k; ++i) x[i] = (float)(2.0 * rng_uniform() - 1.0);

    CHECK(kf_linear_create(def, 0, 0, NULL, &layer)); /* NULL: the best variant for this CPU */
    CHECK(kf_linear_pack(layer, codes, scales));
    printf("variant: %s (M = 1 runs %s)\n", kf_linear_variant(layer), kf_linear_variant_for_rows(layer, 1));

    /* One thread and all threads must both match the reference. */
    for (pass = 0; pass < 2; ++pass) {
        int threads = pass == 0 ? 1 : 0;
        memset(y, 0xff, (size_t)n * sizeof *y); /* NaN: a row the kernel skips shows */
        CHECK(kf_linear_run(layer, x, 1, y, threads));
        err = relative_error(y, x, codes, scales, n, k, group);
        if (!(err <= 1e-5)) {
            printf("result: MISMATCH with %s: rel err %.3g > 1e-5 (y[0] = %.6g)\n",
                   threads == 1 ? "1 thread" : "all threads", err, (double)y[0]);
            ok = 0;
        } else if (pass == 1) {
            printf("result: matches reference (rel err %.2g)\n", err);
        }
    }
    if (!ok || check_only) {
        kf_linear_destroy(layer);
        free(codes);
        free(scales);
        free(x);
        free(y);
        return ok ? 0 : 1;
    }

    {
        /* Enough distinct layers that their weights cannot stay in cache. */
        size_t per_layer = kf_linear_packed_bytes(layer), llc = llc_bytes();
        size_t want = (size_t)256 << 20, words;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int threads_all = cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus;
        stream_setup s;
        uint64_t *buf;
        if (2 * llc > want) want = 2 * llc;
        if (per_layer == 0) {
            fprintf(stderr, "error: kf_linear_packed_bytes returned 0\n");
            return 1;
        }
        s.count = (int)((want + per_layer - 1) / per_layer);
        s.layers = (kf_linear **)xmalloc((size_t)s.count * sizeof *s.layers);
        s.layers[0] = layer;
        for (v = 1; v < s.count; ++v) {
            CHECK(kf_linear_create(def, 0, 0, NULL, &s.layers[v]));
            CHECK(kf_linear_pack(s.layers[v], codes, scales));
        }
        s.packed_bytes = per_layer * (size_t)s.count;
        s.x = x;
        s.y = y;
        words = s.packed_bytes / sizeof(uint64_t);
        buf = (uint64_t *)xmalloc(words * sizeof *buf);
        for (i = 0; i < (int64_t)words; ++i) buf[i] = (uint64_t)i; /* touch every page */
        s.read_buf = buf;
        s.read_words = words;
        printf("speed: streaming %d layers = %.0f MiB of packed weights (>= max(256 MiB, 2 x L3 %.0f MiB))\n",
               s.count, (double)s.packed_bytes / MIB, (double)llc / MIB);

        measure(&s, 1, 1.0);
        if (threads_all > 1) measure(&s, threads_all, 1.0);

        for (v = 0; v < s.count; ++v) kf_linear_destroy(s.layers[v]);
        free(s.layers);
        free(buf);
    }
    free(codes);
    free(scales);
    free(x);
    free(y);
    return 0;
}

/* examples/cmake-consumer: link a library emitted by an installed kforge
 * (CMakeLists.txt) and check one layer against a double-precision reference
 * computed here from the codes and scales (docs/formats.md: w = s * (c - 8)).
 * Exit status 0 when every output matches to 1e-5 relative, 1 otherwise. */
#include <kforge/kforge.h>
#include <kforge_mlp.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                                     \
    do {                                                                                                \
        kf_status s_ = (call);                                                                          \
        if (s_ != KF_OK) {                                                                              \
            fprintf(stderr, "error: %s: %s: %s\n", #call, kf_status_name(s_), kf_last_error());         \
            return 1;                                                                                   \
        }                                                                                               \
    } while (0)

/* A power-of-two f16 scale 2^e (exact in f16 and double): bits of 2^e. */
static uint16_t half_pow2(int e) { return (uint16_t)((e + 15) << 10); }

int main(void) {
    enum { N = 256, K = 384, G = K / 32, M = 3 };
    static uint8_t codes[N * K];
    static uint16_t scales[N * G];
    static float x[M * K], y[M * N];
    unsigned r = 12345u;
    kf_linear *layer = NULL;
    int n, k, m, bad = 0;
    for (n = 0; n < N * K; ++n) codes[n] = (uint8_t)((r = r * 1103515245u + 12345u) >> 16) & 15;
    for (n = 0; n < N * G; ++n) scales[n] = half_pow2(-((int)((r = r * 1103515245u + 12345u) >> 16) % 6) - 1);
    for (n = 0; n < M * K; ++n) x[n] = (float)((int)((r = r * 1103515245u + 12345u) >> 16) % 2001 - 1000) / 1000.0f;

    CHECK(kf_linear_create(kf_mlp_up_proj(), 0, 0, NULL, &layer));
    CHECK(kf_linear_pack(layer, codes, scales));
    CHECK(kf_linear_run(layer, x, M, y, 0));
    for (m = 0; m < M; ++m)
        for (n = 0; n < N; ++n) {
            double want = 0, mag = 0;
            for (k = 0; k < K; ++k) {
                double s = ldexp(1.0, ((scales[n * G + k / 32] >> 10) & 31) - 15);
                double w = s * ((int)codes[n * K + k] - 8);
                want += w * x[m * K + k];
                mag += fabs(w * x[m * K + k]);
            }
            if (fabs(y[m * N + n] - want) > 1e-5 * (mag + 1e-30)) {
                if (bad++ < 5) fprintf(stderr, "y[%d][%d] = %.9g, reference %.9g\n", m, n, y[m * N + n], want);
            }
        }
    printf("variant %s: %d of %d outputs off the reference\n", kf_linear_variant(layer), bad, M * N);
    kf_linear_destroy(layer);
    return bad ? 1 : 0;
}

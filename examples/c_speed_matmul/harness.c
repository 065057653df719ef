/* Test harness of the c_speed_matmul example; not evolved, linked with the candidate's matmul().
 *
 * Usage: harness N SEED. Fills A and B (N x N, row-major) with pseudo-random uint32 values drawn from
 * SEED, fills C with a poison pattern (so every cell must be written), calls matmul() once and writes
 * C to stdout as N * N native uint32 values. The evaluator times the whole process from outside and
 * compares its output with the reference build's, so nothing here needs to be trusted by the score.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void matmul(int n, const uint32_t *a, const uint32_t *b, uint32_t *c);

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: harness N SEED\n");
        return 2;
    }
    int n = atoi(argv[1]);
    uint64_t state = strtoull(argv[2], NULL, 10);
    if (n <= 0) {
        fprintf(stderr, "harness: bad size %d\n", n);
        return 2;
    }
    size_t cells = (size_t)n * (size_t)n;
    uint32_t *a = malloc(cells * sizeof *a);
    uint32_t *b = malloc(cells * sizeof *b);
    uint32_t *c = malloc(cells * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "harness: out of memory for n = %d\n", n);
        return 2;
    }
    for (size_t i = 0; i < cells; i++) a[i] = (uint32_t)splitmix64(&state);
    for (size_t i = 0; i < cells; i++) b[i] = (uint32_t)splitmix64(&state);
    for (size_t i = 0; i < cells; i++) c[i] = 0xDEADBEEFu;
    matmul(n, a, b, c);
    if (fwrite(c, sizeof *c, cells, stdout) != cells) return 3;
    return 0;
}

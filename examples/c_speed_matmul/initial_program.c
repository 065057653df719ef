/* Multiply two n x n matrices of uint32_t modulo 2^32 (C = A * B, row-major), as fast as possible.
 *
 * The evaluator links matmul() with harness.c, checks its output against this starting program on random
 * inputs of several sizes, and scores its speed on n = 384 relative to this starting program. Wrapping
 * uint32_t arithmetic makes the result exact whatever the order of the additions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// EVOLVE-BLOCK-START
void matmul(int n, const uint32_t *a, const uint32_t *b, uint32_t *c) {
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            uint32_t sum = 0;
            for (int k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
            c[i * n + j] = sum;
        }
    }
}
// EVOLVE-BLOCK-END

"""A decomposition of the 3×3 matrix multiplication tensor ⟨3, 3, 3⟩: fewer terms is better.

solve() returns {"U": R rows of 9, "V": R rows of 9, "W": R rows of 9} (optionally "denominator": 2 to
allow halves, and [re, im] pairs for complex entries) with Σ_r U_r ⊗ V_r ⊗ W_r = T, where
T[i·3 + j, j·3 + k, k·3 + i] = 1. This starting point is the schoolbook algorithm, R = 27; the best known
is R = 23 (Laderman, 1976).
"""

N, M, P = 3, 3, 3


# EVOLVE-BLOCK-START
def unit(size, index):
    vector = [0] * size
    vector[index] = 1
    return vector


def solve():
    factors = {"U": [], "V": [], "W": []}
    for i in range(N):
        for j in range(M):
            for k in range(P):
                factors["U"].append(unit(N * M, i * M + j))
                factors["V"].append(unit(M * P, j * P + k))
                factors["W"].append(unit(P * N, k * N + i))
    return factors


# EVOLVE-BLOCK-END

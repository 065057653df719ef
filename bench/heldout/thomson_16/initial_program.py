"""Thomson problem, n = 16: unit charges on the sphere with the least Coulomb energy.

points() returns 16 vectors [x, y, z]; the evaluator projects each onto the sphere and scores minus
the energy, the sum of 1 / distance over all pairs (maximised, so the least energy wins).

The EVOLVE block is the solution itself, a random start (seed 16).
"""


# EVOLVE-BLOCK-START
def points():
    return [
        [-0.4975, 0.5898, -0.6360],
        [0.3473, -0.7902, 0.5049],
        [-0.0478, 0.8576, 0.5120],
        [0.0970, -0.5070, 0.8565],
        [-0.0338, -0.8153, 0.5781],
        [-0.7535, -0.0145, 0.6573],
        [0.2857, -0.7540, 0.5915],
        [0.2200, -0.6822, -0.6973],
        [0.1597, 0.9816, -0.1052],
        [0.8588, -0.2953, 0.4186],
        [-0.6223, -0.7821, -0.0329],
        [0.1512, 0.9752, -0.1615],
        [0.2504, -0.9671, 0.0453],
        [0.4605, -0.2967, 0.8366],
        [0.9158, 0.4013, -0.0145],
        [-0.1368, 0.5435, -0.8282],
    ]


# EVOLVE-BLOCK-END

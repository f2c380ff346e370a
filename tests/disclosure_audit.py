"""The attacker's audit of a published table, written apart from kopru.reports.transparency so that it does not
share its mistakes: from the published grid alone (hidden cells marked), the least and greatest value each hidden
cell can take, by linear programming over every row and column equation (parts, then the total last)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog


def hidden_cell_ranges(body: list[list], hidden_mark) -> dict[tuple[int, int], tuple[float, float]]:
    rows, columns = len(body), len(body[0])
    unknown = [(r, c) for r in range(rows) for c in range(columns) if body[r][c] == hidden_mark]
    index = {cell: i for i, cell in enumerate(unknown)}
    lines = [[(r, c) for c in range(columns)] for r in range(rows)]
    lines += [[(r, c) for r in range(rows)] for c in range(columns)]
    equations, constants = [], []
    for line in lines:  # parts − total = 0
        coefficients, constant = np.zeros(len(unknown)), 0.0
        for position, sign in [(p, 1.0) for p in line[:-1]] + [(line[-1], -1.0)]:
            if position in index:
                coefficients[index[position]] += sign
            else:
                constant -= sign * float(body[position[0]][position[1]])
        if coefficients.any():
            equations.append(coefficients)
            constants.append(constant)
    ranges = {}
    for cell, i in index.items():
        objective = np.zeros(len(unknown))
        objective[i] = 1.0
        low = linprog(objective, A_eq=equations, b_eq=constants, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=equations, b_eq=constants, bounds=(0, None), method="highs")
        ranges[cell] = (low.fun, -high.fun if high.status == 0 else float("inf"))
    return ranges

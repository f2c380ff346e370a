"""The public report's disclosure control against the attack that defeated the old rule: combining equations. Over
random tables, every hidden cell keeps a feasible range at least PROTECTION_WIDTH wide, as an independent linear-
programming audit of the published grid finds it."""

from __future__ import annotations

import random

import pytest
from disclosure_audit import hidden_cell_ranges
from kopru.reports.transparency import MIN_SHOWN, PROTECTION_WIDTH, SUPPRESSED, Table, protect


def published_grid(table: Table) -> list[list]:
    """The table as the report publishes it: cells with the row total last, and the totals row last."""
    return [[table.shown(r, c) for c in [*table.columns, None]] for r in [*table.rows, None]]


@pytest.mark.parametrize("seed", range(60))
def test_no_combination_of_published_totals_narrows_a_hidden_cell(seed):
    rng = random.Random(seed)
    rows = [f"M{i}" for i in range(rng.randint(2, 9))]
    columns = [f"A{j}" for j in range(rng.randint(2, 7))]
    cells = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 11, 14, 25, 60, 150]) for r in rows for c in columns}
    grid = published_grid(protect(Table(rows, columns, cells)))
    assert all(v == SUPPRESSED or v == 0 or v >= MIN_SHOWN for row in grid for v in row)
    narrow = {cell: bounds for cell, bounds in hidden_cell_ranges(grid, SUPPRESSED).items()
              if bounds[1] - bounds[0] < PROTECTION_WIDTH}
    assert narrow == {}


def test_a_table_the_old_rule_left_open_is_closed():
    """Under the old rule (no equation with a single hidden cell) this table published
    [[0, •, 0, •], [•, 25, •, 31], [0, •, •, •], [•, 39, •, 47]], from which the equations together give the
    hidden (M2, A2) exactly: 2. The audit hides more until no hidden cell is narrower than the protection."""
    rows, columns = ["M0", "M1", "M2"], ["A0", "A1", "A2"]
    values = [[0, 3, 0], [2, 25, 4], [0, 11, 2]]
    cells = {(r, c): values[i][j] for i, r in enumerate(rows) for j, c in enumerate(columns)}
    table = protect(Table(rows, columns, cells))
    ranges = hidden_cell_ranges(published_grid(table), SUPPRESSED)
    assert min(high - low for low, high in ranges.values()) >= PROTECTION_WIDTH

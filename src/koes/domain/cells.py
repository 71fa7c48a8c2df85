"""How a cell of a table is addressed: by its row and column index, the margins by :data:`TOTAL`.

One definition for the assembly of results (``koes.query.assemble``), disclosure control
(``koes.privacy.suppression``, which is pure and may import this module alone of ours) and every
reader of a block.
"""

from __future__ import annotations

from typing import Final

TOTAL: Final = -1
"""The row or column index of the margins: ``(r, TOTAL)`` is row r's total, ``(TOTAL, TOTAL)`` the grand total."""

CellKey = tuple[int, int]
"""A cell: (row index, column index) into a block's row and column keys."""

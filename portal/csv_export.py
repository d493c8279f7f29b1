"""CSV answers: one writer for every export (the audit trail, the system-health tables).

Each cell a person could have influenced is neutralised against spreadsheet formulas (CSV
injection). The csv module quotes any cell holding a delimiter, quote or line break and writes
control characters as they are, so no text stored in the portal makes an export fail; the work is
linear in the size of the rows, and each export caps its number of rows.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@")


def neutralised(value: Any) -> Any:
    """A cell that a spreadsheet would read as a formula, prefixed with ``'`` so it is read as text."""
    return "'" + value if isinstance(value, str) and value[:1] in FORMULA_STARTS else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The rows as CSV text (RFC 4180 quoting, CRLF line ends), under ``header``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralised(value) for value in row])
    return buffer.getvalue()

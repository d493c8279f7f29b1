"""The outside contract lives in the repository (docs/contract.md), as a copy of the shared one."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPY = ROOT / "docs" / "contract.md"
SHARED = ROOT.parent / "shared" / "CONTRACT.md"


def test_the_contract_is_in_the_repository_and_cited_there():
    text = COPY.read_text(encoding="utf-8")
    assert text.startswith("# The portal's outside contract") and "## " in text
    cited = [p for p in (ROOT / "portal").rglob("*.py") if "CONTRACT.md" in p.read_text(encoding="utf-8")]
    assert cited == [], f"cite docs/contract.md, not CONTRACT.md: {cited}"


def test_the_copy_is_the_shared_contract_when_that_is_at_hand():
    """Fails when ../shared/CONTRACT.md changed and docs/contract.md was not copied again."""
    if SHARED.exists():
        assert COPY.read_bytes() == SHARED.read_bytes(), f"copy {SHARED} to {COPY}"

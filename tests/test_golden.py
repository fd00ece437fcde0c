"""Golden reports: the exact verdicts on a fixed corpus, so refactors cannot move them silently.

Regenerate with `python tests/golden/corpus.py --write` only for an intended change
of behaviour, and say in the commit message what moved and why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "golden"))

from corpus import GOLDEN, reports  # noqa: E402


def test_reports_match_the_golden_file_exactly():
    expected = {}
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        expected.update(json.loads(line))
    actual = json.loads(json.dumps(reports(), ensure_ascii=False))
    assert sorted(actual) == sorted(expected)
    changed = [name for name in expected if actual[name] != expected[name]]
    assert not changed, f"{len(changed)} report(s) changed, first: {changed[:5]}"

"""Chinese is the source language; every string the UI shows has its English translation."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_ui_string_is_translated_to_english(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."], cwd=ROOT,
                   check=True, capture_output=True)
    with open(pot, "rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with open(ROOT / "webui/translations/en/LC_MESSAGES/messages.po", "rb") as fh:
        have = {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in read_po(fh, locale="en") if m.id}
    missing = sorted(s for s in wanted if not have.get(s))
    assert missing == [], f"untranslated: {missing}"

"""Compile every ``locale/*/LC_MESSAGES/*.po`` of the project to ``.mo``.

Pure Python (polib), so a fresh machine needs no GNU gettext:
``python -m config.compilemessages``. Fuzzy entries are left out, as msgfmt does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "config" / "locale"


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))


def compile_all(*, verbose: bool = True) -> int:
    count = 0
    for po_path in po_files():
        po = polib.pofile(str(po_path))
        for entry in po.fuzzy_entries():
            po.remove(entry)
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            po.save_as_mofile(str(mo_path))
            count += 1
            if verbose:
                print(f"compiled {mo_path.relative_to(ROOT)}")
    return count


if __name__ == "__main__":
    compile_all()
    sys.exit(0)

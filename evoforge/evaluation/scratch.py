"""A slot's scratch directory on the controller's side: handed to the slot's uid, removed at the end.

The launcher empties it after every evaluation (cleanup.py, inside the sandbox); the controller
creates it, gives it away, and removes it with whatever a candidate left in it when the slot retires.
"""

from __future__ import annotations

import os
from pathlib import Path

from evoforge.evaluation.cleanup import empty_directory


def prepare_scratch(scratch: Path, uid: int | None) -> None:
    """Hand the scratch directory to the slot's uid (0700: other slots cannot look inside)."""
    if uid is not None:
        os.chown(scratch, uid, uid)


def release_scratch(scratch: Path) -> bool:
    """Remove a slot's scratch directory, whatever the candidate left in it; False if some stays."""
    if not empty_directory(str(scratch)):
        return False
    try:
        scratch.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True

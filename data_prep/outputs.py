"""Output paths checked where they enter: why an output could not be written, asked before any
work (tools/flags.py refuses such a flag), never found by a traceback after the work is done."""
from __future__ import annotations

import os
from pathlib import Path


def unwritable(path: Path, folder: bool = False) -> str | None:
    """Why a file (or, with `folder`, a folder) could not be written at `path`; None if it could.
    Nothing is created."""
    path = Path(path)
    if path.exists() and path.is_dir() != folder:
        return f"{path} is a {'file' if folder else 'folder'}"
    if path.exists():
        return None if os.access(path, os.W_OK | (os.X_OK if folder else 0)) else \
            f"{path} is not writable"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # the folders up to it would be made
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable"
    return None

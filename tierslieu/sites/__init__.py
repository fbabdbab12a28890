"""Site descriptions shipped inside the package, so that `tierslieu demo` works after `pip install`
from any folder. ``config/trilport.yaml`` in a checkout is the same file, for people to read and copy
(a test keeps the two identical)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["TRILPORT"]

TRILPORT = Path(__file__).with_name("trilport.yaml")

"""Optional dependencies, installed as extras: a clear message naming the extra when one is missing."""

from __future__ import annotations

import importlib.util

__all__ = ["MissingExtra", "require"]


class MissingExtra(ModuleNotFoundError):
    """A feature needs a package that a plain ``pip install tierslieu`` does not bring."""

    def __init__(self, module: str, extra: str, feature: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the Python package {module!r}, which is not installed: pip install 'tierslieu[{extra}]'",
            name=module,
        )


def require(module: str, extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` when ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(module, extra, feature)

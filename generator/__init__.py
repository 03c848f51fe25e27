"""Cutover Runbooks: per-client runbooks for Exchange 2003 to Office 365 cutover migrations.

Public surface: `load_client` (file to `Client`), `derive` (`Client` to `Values`),
`ClientFileError` (what a user's bad input raises).

They are imported when first used, so that a command that needs none of them (`runbook
--help`) starts without loading pydantic and PyYAML.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.derive import derive
    from generator.errors import ClientFileError, Problem
    from generator.model import Client, load_client

__all__ = ["Client", "ClientFileError", "Problem", "derive", "load_client"]
__version__ = "0.1.0"

_HOMES = {
    "Client": "generator.model",
    "ClientFileError": "generator.errors",
    "Problem": "generator.errors",
    "load_client": "generator.model",
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """The package, whose `derive` is the function, as it was when imported eagerly.

    Loading the submodule `generator.derive` binds it to the package's attribute of that name;
    the function, not the module, is the public `derive`, so the binding is left out.
    """

    @property
    def derive(self) -> Any:
        """The `derive` function (`Client` to `Values`)."""
        return importlib.import_module("generator.derive").derive

    @derive.setter
    def derive(self, value: Any) -> None:
        """Ignored: the import system binding the submodule."""


sys.modules[__name__].__class__ = _Package

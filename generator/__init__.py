"""Cutover Runbooks: per-client runbooks for Exchange 2003 to Office 365 cutover migrations.

Public surface: `load_client` (file to `Client`), `derive` (`Client` to `Values`),
`ClientFileError` (what a user's bad input raises).
"""

from generator.derive import derive
from generator.errors import ClientFileError, Problem
from generator.model import Client, load_client

__all__ = ["Client", "ClientFileError", "Problem", "derive", "load_client"]
__version__ = "0.1.0"

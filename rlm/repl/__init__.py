"""The sandboxed REPL: one worker process per RLM and its parent-side handle."""
from ._records import CellResult, SandboxLimits
from ._sandbox import Sandbox
from ._subcalls import SubcallHandler
from ._workspace import HIDE_ENV

__all__ = ["CellResult", "HIDE_ENV", "Sandbox", "SandboxLimits", "SubcallHandler"]

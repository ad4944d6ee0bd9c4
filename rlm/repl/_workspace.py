"""The worker's private temp dir: context file, working dir, log; and its scrubbed env.

The context is written here once per Sandbox; every (re)started worker loads it from this
file, so a 40 MB context never crosses the pipe.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

_SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
HIDE_ENV = "RLM_SANDBOX_HIDE"   # os.pathsep-separated dirs the harness adds (results, task cache)
_CHECKOUT = Path(__file__).resolve().parents[2]


def hidden_dirs() -> list[str]:
    """Dirs model-written code must find empty: the checkout, the working dir, the database home
    (RLM_EVALS_HOME or ./.rlm-evals) and whatever the harness lists in RLM_SANDBOX_HIDE.
    Paths the worker needs (the interpreter, rlm/repl, its own temp dir) are mounted back."""
    dirs = [str(_CHECKOUT), os.getcwd(), os.environ.get("RLM_EVALS_HOME") or os.path.join(os.getcwd(), ".rlm-evals")]
    dirs += [d for d in os.environ.get(HIDE_ENV, "").split(os.pathsep) if d]
    return sorted({os.path.abspath(d) for d in dirs})


@dataclass
class Workspace:
    base: Path
    context_path: Path
    context_kind: str  # "text" (raw str) or "json" (list / dict)

    @property
    def workdir(self) -> Path:
        return self.base / "work"

    @property
    def stage(self) -> Path:
        return self.base / ".stage"

    @property
    def log_path(self) -> Path:
        return self.base / "worker.log"

    @classmethod
    def create(cls, context: object) -> "Workspace":
        """Make the dir and write the context: str as raw UTF-8 text, list/dict as JSON."""
        if isinstance(context, tuple):
            context = list(context)
        if not isinstance(context, (str, list, dict)):
            raise TypeError(f"context must be str, list or dict, not {type(context).__name__}")
        base = Path(tempfile.mkdtemp(prefix="rlm-repl-"))
        try:
            # 0711: the unprivileged worker may enter its own subdirs but not list this one.
            os.chmod(base, 0o711)
            (base / "work").mkdir(mode=0o700)
            (base / ".stage").mkdir(mode=0o700)
            if isinstance(context, str):
                path, kind = base / "context.txt", "text"
                path.write_text(context, encoding="utf-8", errors="surrogateescape")
            else:
                path, kind = base / "context.json", "json"
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(context, f, ensure_ascii=False)
            os.chmod(path, 0o600)  # read by the worker before it drops privileges
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        return cls(base, path, kind)

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - chars))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def scrubbed_env(workdir: Path) -> dict[str, str]:
    """The worker's whole environment: nothing inherited, so no *_KEY / *_TOKEN leaks in."""
    return {
        "PATH": _SAFE_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONNOUSERSITE": "1",
    }

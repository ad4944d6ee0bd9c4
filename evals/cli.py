"""What every command line does before Hydra sees its arguments, and how its usage errors end.

- Files the harness creates are the owner's only (umask 077): results hold gold answers and
  the database home holds every reply.
- A DSN given as `db.dsn=...` with a password never enters Hydra: the full DSN moves to the
  environment (RLM_TSDB_DSN, inherited by launcher jobs) and Hydra gets it masked, so its
  multirun.yaml, launch lines, job overrides and override_dirname never hold the password.
- A usage error (Hydra's unknown option, a value the schema refuses, a bad override) is one
  line on stderr and exit code 2, like the harness's own.
"""
from __future__ import annotations

import os
import sys
from typing import Callable

from rlm.telemetry.connection import DSN_ENV, redact

USAGE_EXIT = 2
_DSN_KEYS = ("db.dsn",)


def protect_process() -> None:
    os.umask(0o077)


def secrets_out_of_argv(argv: list[str]) -> list[str]:
    """`argv` with any DSN password masked; the unmasked DSN is exported as RLM_TSDB_DSN."""
    out = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+~") in _DSN_KEYS:
            raw = value.strip()
            if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
                raw = raw[1:-1]
            masked = redact(raw, raw)
            if masked != raw:
                os.environ[DSN_ENV] = raw
                arg = f"{key}='{masked}'"
        out.append(arg)
    return out


def one_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages folded into one line."""
    parts = [" ".join(line.strip() for line in str(exc).splitlines() if line.strip())]
    override = getattr(exc, "override", None)  # hydra.errors.OverrideParseException
    if override and override not in parts[0]:
        parts.insert(0, f"cannot parse override {override!r}")
    cause = exc.__cause__
    if cause is not None and str(cause).strip():
        first = str(cause).strip().splitlines()[0]
        if first not in parts[0]:
            parts.append(first)
    return redact(": ".join(p for p in parts if p))


def guard_usage_errors(entry: Callable[[], object]) -> None:
    """Run a Hydra entry point (with HYDRA_FULL_ERROR=1 so errors reach us) mapping usage errors to exit 2."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        entry()
    except (HydraException, OmegaConfBaseException) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        sys.exit(USAGE_EXIT)

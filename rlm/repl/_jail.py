"""Worker-side isolation, applied by the worker to itself before any untrusted code runs.

Stdlib only: imported by the worker. Doing this in the freshly exec'd, single-threaded
worker (not in a preexec_fn) keeps the parent's fork thread-safe when many sandboxes start
from threads. Order matters: namespaces and mounts need root, so they come first; then
rlimits; then the drop to an unprivileged uid.

Why a uid drop: root ignores RLIMIT_NPROC, so only a non-root worker has its fork bombs
contained. Each sandbox gets its own uid, so one sandbox's processes can neither signal
another's nor eat its process budget.
"""
from __future__ import annotations

import ctypes
import os
import resource
import stat
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 0x1000, 0x2000, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS = 38
FALLBACK_UID = 65534  # nobody

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = lambda v: None if v is None else v.encode()  # noqa: E731
    _check(_libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _blocked_ancestor(path: str) -> tuple[str, str] | None:
    """First ancestor dir of `path` that others cannot traverse, and its child on the way."""
    parts = os.path.abspath(path).split(os.sep)[1:]
    for i in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:i])
        try:
            mode = os.stat(ancestor).st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return ancestor, ancestor + "/" + parts[i]
    return None


def _plan_mounts(paths: list[str], hide: list[str], stage: str) -> dict[str, list[str]]:
    """{dir to cover with an empty tmpfs: [paths under it to mount back]}.

    Covered: every ancestor of a wanted path that others cannot traverse, and every dir in
    `hide`; nested covers fold into the outermost one. "/" and the stage's ancestors (the
    mounts pass through it) are never covered.
    """
    wanted = sorted({os.path.abspath(p) for p in paths if os.path.exists(p)})
    wanted = [p for p in wanted if not any(p.startswith(q + "/") for q in wanted if q != p)]
    stage = os.path.abspath(stage)
    covers = {os.path.abspath(h) for h in hide if os.path.isdir(h)}
    covers = {c for c in covers if c != "/" and not (stage + "/").startswith(c + "/")}
    for path in wanted:
        found = _blocked_ancestor(path)
        if found:
            covers.add(found[0])
    covers = {c for c in covers if not any(c.startswith(o + "/") for o in covers if o != c)}
    needed: dict[str, list[str]] = {c: [] for c in sorted(covers)}
    for path in wanted:
        for cover in needed:
            if path == cover or path.startswith(cover + "/"):
                needed[cover].append(path)
                break
    return needed


def expose_paths(paths: list[str], stage: str, hide: list[str] | None = None) -> list[str]:
    """Make exactly `paths` reachable for an unprivileged uid, and every dir in `hide` empty,
    in a private mount namespace.

    The interpreter may live under a 0700 dir (pyenv in /root). Inside our own mount
    namespace we cover that dir with an empty tmpfs and mount back only the needed paths,
    so the worker can import the stdlib while the rest of the dir (dotfiles, keys) stays
    hidden. Dirs in `hide` (the checkout, the harness's results and database home) are
    covered the same way, so model-written code finds them empty. The host's mounts are untouched.
    """
    needed = _plan_mounts(paths, hide or [], stage)
    if not needed:
        return []
    unshare(CLONE_NEWNS)
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)  # never propagate to the host
    count = 0
    for blocked, targets in needed.items():
        staged = []
        for target in targets:
            spot = os.path.join(stage, str(count))
            count += 1
            if os.path.isdir(target):  # a restarted worker reuses the previous spots
                os.makedirs(spot, exist_ok=True)
            else:
                open(spot, "a").close()
            _mount(target, spot, None, MS_BIND | MS_REC, None)
            staged.append((spot, target))
        _mount("tmpfs", blocked, "tmpfs", 0, "mode=0755,size=64k")
        for spot, target in staged:
            if os.path.isdir(spot):
                os.makedirs(target, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
                open(target, "w").close()
            _mount(spot, target, None, MS_MOVE, None)
    return sorted(needed)


def set_rlimits(limits: dict[str, Any]) -> None:
    mb = 1024 * 1024
    for res, value in (
        (resource.RLIMIT_AS, int(limits["memory_mb"]) * mb),
        (resource.RLIMIT_CPU, int(limits["cpu_s"])),
        (resource.RLIMIT_NPROC, int(limits["max_processes"])),
        (resource.RLIMIT_FSIZE, int(limits["max_file_mb"]) * mb),
        (resource.RLIMIT_CORE, 0),
    ):
        hard = resource.getrlimit(res)[1]
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(res, (value, value))


def drop_privileges(uid: int, owned_dir: str) -> int:
    """Become `uid` (gid = uid), falling back to nobody; `owned_dir` is chowned to it."""
    for candidate in (uid, FALLBACK_UID):
        try:
            os.chown(owned_dir, candidate, candidate)
            os.setgroups([])
            os.setresgid(candidate, candidate, candidate)
            os.setresuid(candidate, candidate, candidate)
            break
        except OSError:
            if candidate == FALLBACK_UID:
                raise
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # no setuid binary gets root back
    return os.getuid()

"""Containment with real worker processes: timeouts, memory, fork bombs, env, output, network."""
from __future__ import annotations

import os
import threading
import time

import pytest

from rlm.repl import Sandbox, SandboxLimits

FAST = SandboxLimits(cell_timeout_s=5.0)

IS_ROOT = os.geteuid() == 0


def _vm_rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def test_timeout_kills_restarts_and_reports_state_lost() -> None:
    with Sandbox("ctx-text", None, SandboxLimits(cell_timeout_s=1.0)) as sb:
        sb.run("x = 1")
        start = time.monotonic()
        result = sb.run("while True:\n    pass")
        assert time.monotonic() - start < 4
        assert result.timed_out and result.state_lost and not result.success
        assert result.error_type == "Timeout"
        after = sb.run("len(context), 'x' in globals()")
        assert after.success and after.value_repr == "(8, False)" and not after.state_lost


def test_huge_allocation_is_contained() -> None:
    with Sandbox("ctx", None, SandboxLimits(cell_timeout_s=10.0, memory_mb=1024)) as sb:
        result = sb.run("x = bytearray(10**10)")
        assert not result.success and result.error_type in ("MemoryError", "WorkerDied")
        assert sb.run("len(context)").value_repr == "3"


def test_worker_death_is_reported_and_recovered() -> None:
    with Sandbox("ctx", None, FAST) as sb:
        result = sb.run("import os\nos._exit(7)")
        assert result.error_type == "WorkerDied" and result.state_lost and "7" in result.error
        assert sb.run("context").value_repr == "'ctx'"


@pytest.mark.skipif(not IS_ROOT, reason="RLIMIT_NPROC is per user; as non-root it is shared")
def test_fork_bomb_is_contained_and_leaves_no_process() -> None:
    limits = SandboxLimits(cell_timeout_s=2.0, max_processes=16)
    with Sandbox("ctx", None, limits) as sb:
        counted = sb.run(
            "import os, time\npids = []\n"
            "for _ in range(200):\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n"
            "    pids.append(pid)\nlen(pids)")
        assert counted.success and int(counted.value_repr) < 16
        uid = sb._worker.info["uid"]
        start = time.monotonic()
        bomb = sb.run("import os\nwhile True:\n    try:\n        os.fork()\n"
                      "    except OSError:\n        pass")
        assert bomb.timed_out and time.monotonic() - start < 10
        assert len(_pids_of_uid(uid)) == 1  # only the fresh worker
        assert sb.run("1 + 1").value_repr == "2"
    deadline = time.monotonic() + 5
    while _pids_of_uid(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _pids_of_uid(uid) == []


def test_secrets_in_parent_env_are_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("HF_TOKEN", "hf-secret")
    monkeypatch.setenv("DB_SECRET_PASSWORD", "pw-secret")
    with Sandbox("ctx", None, FAST) as sb:
        result = sb.run("import os\nsorted(os.environ), repr(dict(os.environ))")
        assert "OPENAI_API_KEY" not in result.value_repr
        assert "secret" not in result.value_repr.lower()
        assert sb.run("import os\nos.getcwd() == os.environ['HOME']").value_repr == "True"


def test_printing_100mb_is_truncated_without_parent_growth() -> None:
    limits = SandboxLimits(cell_timeout_s=30.0, max_output_chars=2000)
    with Sandbox("ctx", None, limits) as sb:
        sb.run("print('warm')")
        before = _vm_rss_kb()
        result = sb.run("s = 'y' * 1_000_000\nfor _ in range(100):\n    print(s)")
        grown_mb = (_vm_rss_kb() - before) / 1024
        assert result.success and result.stdout_chars == 100 * 1_000_001
        assert "chars truncated ...]" in result.stdout and len(result.stdout) < 2100
        assert grown_mb < 20, f"parent RSS grew by {grown_mb:.1f} MB"


@pytest.mark.skipif(not IS_ROOT, reason="a network namespace needs root")
def test_network_is_cut_by_default() -> None:
    code = "import socket\nsorted(name for _, name in socket.if_nameindex())"
    with Sandbox("ctx", None, FAST) as sb:
        assert sb.run(code).value_repr == "['lo']"
    with Sandbox("ctx", None, SandboxLimits(cell_timeout_s=5.0, network=True)) as sb:
        assert sb.run(code).value_repr != "['lo']"


@pytest.mark.skipif(not IS_ROOT, reason="privilege drop needs root")
def test_worker_runs_unprivileged_in_its_own_dir() -> None:
    with Sandbox("ctx", None, FAST) as sb:
        result = sb.run("import os\nos.getuid() != 0, os.getcwd()")
        assert result.value_repr == repr((True, str(sb._workspace.workdir)))
        assert sb.run("open('/etc/shadow').read()").error_type == "PermissionError"
        assert sb.run("open('note.txt', 'w').write('hi')").value_repr == "2"


def test_concurrent_sandboxes_in_threads() -> None:
    errors: list[str] = []

    def work(i: int) -> None:
        with Sandbox(f"context-{i}", None, FAST) as sb:
            for j in range(5):
                got = sb.run(f"v = {j}\ncontext, v").value_repr
                if got != repr((f"context-{i}", j)):
                    errors.append(f"{i}/{j}: {got}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []

"""The REPL worker: a separate Python process that runs untrusted cells.

Run as a script (`python -E -s -B _worker.py CONFIG_JSON`) so that it imports only the
stdlib and its stdlib-only siblings (_protocol, _capture, _jail), never openai or the rest
of rlm, and no API key can be reached from inside. It talks to the parent over two pipe fds.
"""
from __future__ import annotations

import ast
import json
import linecache
import os
import sys
import threading
import traceback
from typing import Any

import _capture
import _jail
import _protocol as proto

del sys.path[0]  # cells must not import the worker's own modules by accident


class SubcallError(RuntimeError):
    """A sub-call could not be made or the parent's handler failed."""


class _Subcalls:
    """The sub-call functions placed in the namespace; each asks the parent over the pipe."""

    def __init__(self, chan: proto.Channel, has_handler: bool) -> None:
        self._chan, self._has_handler = chan, has_handler
        self._lock = threading.Lock()  # cells may call from threads; one request at a time

    def _call(self, fn: str, **args: Any) -> Any:
        if not self._has_handler:
            raise SubcallError(f"{fn} is unavailable: this REPL has no sub-model handler")
        with self._lock:
            self._chan.send({"op": proto.CALL, "fn": fn, "args": args})
            reply = self._chan.recv()
        if reply.get("op") != proto.REPLY:
            raise SubcallError(f"unexpected reply to {fn}: {reply.get('op')!r}")
        if not reply["ok"]:
            raise SubcallError(reply["error"])
        return reply["result"]

    def llm_query(self, prompt: str, model: str | None = None) -> str:
        _expect_str(prompt, "prompt")
        reply: str = self._call("llm_query", prompt=prompt, model=model)
        return reply

    def llm_query_batched(self, prompts: list[str], model: str | None = None) -> list[str]:
        prompts = list(prompts)
        for p in prompts:
            _expect_str(p, "each prompt")
        replies: list[str] = self._call("llm_query_batched", prompts=prompts, model=model)
        return replies

    def rlm_query(self, context: Any, query: str) -> str:
        _expect_str(query, "query")
        reply: str = self._call("rlm_query", context=context, query=query)
        return reply

    def rlm_query_batched(self, contexts: list[Any], query: str) -> list[str]:
        _expect_str(query, "query")
        replies: list[str] = self._call("rlm_query_batched", contexts=list(contexts), query=query)
        return replies


def _expect_str(value: Any, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")


def run_cell(code: str, ns: dict[str, Any], index: int, limit: int) -> dict[str, Any]:
    """Exec `code` in `ns`; the last line, if an expression, is evaluated and its repr kept."""
    out, err = _capture.BoundedTextIO(limit), _capture.BoundedTextIO(limit)
    filename = f"<cell-{index}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    value_repr = error_type = error = None
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        tree = ast.parse(code, filename, "exec")
        last = None
        final_stmt = tree.body[-1] if tree.body else None
        if isinstance(final_stmt, ast.Expr):
            tree.body.pop()
            last = ast.Expression(final_stmt.value)
        exec(compile(tree, filename, "exec"), ns)
        if last is not None:
            value = eval(compile(last, filename, "eval"), ns)
            if value is not None:
                value_repr = _capture.truncate_middle(repr(value), limit)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt are cell errors too
        error_type = type(exc).__name__
        error = _capture.truncate_middle(_format_error(exc), limit)
    finally:
        sys.stdout, sys.stderr = saved
    return {
        "op": proto.RESULT, "stdout": out.getvalue(), "stderr": err.getvalue(),
        "stdout_chars": out.total, "stderr_chars": err.total, "value_repr": value_repr,
        "success": error_type is None, "error_type": error_type, "error": error,
    }


def answer_state(ns: dict[str, Any]) -> dict[str, Any]:
    """The `answer` protocol: {"content": ..., "ready": True} ends the run with the content.

    A plain (non-dict) `answer` variable is reported as a partial answer, never as ready.
    """
    value = ns.get("answer")
    try:
        if isinstance(value, dict):
            content = value.get("content")
            return {"answer_ready": bool(value.get("ready")),
                    "answer_content": None if content is None else str(content)}
        if value is not None:
            return {"answer_ready": False, "answer_content": str(value)}
    except BaseException as exc:  # a hostile __str__ is the model's problem, not the worker's
        return {"answer_ready": False, "answer_content": f"str() failed: {exc!r:.1000}"}
    return {"answer_ready": False, "answer_content": None}


def fresh_answer() -> dict[str, Any]:
    return {"content": "", "ready": False}


def _format_error(exc: BaseException) -> str:
    try:
        if isinstance(exc, SyntaxError):
            return "".join(traceback.format_exception_only(type(exc), exc))
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # hide run_cell's frame
        return "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # formatting can fail under MemoryError
        return f"{type(exc).__name__}: {exc!s:.1000}"


def _get(ns: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in ns:
        return {"op": proto.VALUE, "found": False, "value": ""}
    value = ns[name]
    if name == "answer" and isinstance(value, dict) and "content" in value:
        value = value["content"]  # FINAL_VAR(answer) means the answer dict's content
    try:
        return {"op": proto.VALUE, "found": True, "value": str(value)}
    except BaseException as exc:
        return {"op": proto.VALUE, "found": False, "value": f"str() failed: {exc!r:.1000}"}


def _isolate(cfg: dict[str, Any]) -> dict[str, Any]:
    """Apply every isolation the OS allows; report what held so the parent can log gaps."""
    report: dict[str, Any] = {"netns": False, "pidns": False, "exposed": [], "problems": []}
    if os.geteuid() == 0:
        steps = [("pidns", _jail.CLONE_NEWPID)]
        if not cfg["limits"]["network"]:
            steps.insert(0, ("netns", _jail.CLONE_NEWNET))
        for key, flag in steps:
            try:
                _jail.unshare(flag)
                report[key] = True
            except OSError as exc:
                report["problems"].append(f"{key}: {exc}")
        try:
            report["exposed"] = _jail.expose_paths(cfg["expose"], cfg["stage"], cfg.get("hide"))
        except OSError as exc:
            report["problems"].append(f"expose: {exc}")
    elif not cfg["limits"]["network"]:
        report["problems"].append("netns: needs root")
    return report


def _enter_pid_namespace(chan: proto.Channel) -> None:
    """Fork so the REPL is pid 1 of the new pid namespace: when it dies, the kernel kills
    every process it left behind. This process only waits and forwards the exit status."""
    pid = os.fork()
    if pid:
        # The parent kills the REPL by this pid, so that this process reaps it (and the
        # kernel the whole namespace) instead of leaving a zombie to the host's init.
        chan.send({"op": proto.SPAWNED, "pid": pid})
        chan.close()  # the parent must see EOF as soon as the REPL dies
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) % 256)


def _load_context(path: str, kind: str) -> Any:
    if kind == "json":
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[1])
    chan = proto.Channel(cfg["rfd"], cfg["wfd"])
    report = _isolate(cfg)
    if report["pidns"]:
        _enter_pid_namespace(chan)
    _jail.set_rlimits(cfg["limits"])
    context = _load_context(cfg["context_path"], cfg["context_kind"])
    os.chdir(cfg["workdir"])
    if os.geteuid() == 0:
        report["uid"] = _jail.drop_privileges(cfg["uid"], cfg["workdir"])
    calls = _Subcalls(chan, cfg["has_handler"])
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__,
                          "context": context, "llm_query": calls.llm_query,
                          "llm_query_batched": calls.llm_query_batched, "answer": fresh_answer()}
    if cfg["enable_rlm_query"]:
        ns.update(rlm_query=calls.rlm_query, rlm_query_batched=calls.rlm_query_batched)
    del context
    chan.send({"op": proto.READY, **report})
    limit = int(cfg["limits"]["max_output_chars"])
    index = 0
    while True:
        try:
            msg = chan.recv()
        except proto.ChannelClosed:
            return 0
        if msg["op"] == proto.EXEC:
            index += 1
            chan.send({**run_cell(msg["code"], ns, index, limit), **answer_state(ns)})
        elif msg["op"] == proto.LOAD:
            ns["context"] = msg["context"]
            ns["answer"] = fresh_answer()
            chan.send({"op": proto.VALUE, "found": True, "value": ""})
        elif msg["op"] == proto.GET:
            chan.send(_get(ns, msg["name"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""`python -m rlm.proxy --upstream URL`: serve a recording proxy until killed."""
from __future__ import annotations

import argparse
import json
import logging
import sys

from rlm.errors import RLMError
from rlm.events import JsonlSink
from rlm.proxy._server import RecordingProxy
from rlm.serving import serve_until_terminated
from rlm.usage import Price

READY_PREFIX = "rlm-proxy listening on "


def _prices(text: str | None) -> dict[str, Price]:
    if not text:
        return {}
    try:
        table = json.loads(text)
        return {name: Price(**fields) for name, fields in table.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise SystemExit(f'error: --prices-json must map model names to {{"input", "cached_input", "output"}} '
                         f"(USD per 1M tokens): {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlm.proxy",
                                     description="Recording OpenAI-compatible proxy: one event per model call.")
    parser.add_argument("--upstream", required=True, help="base URL of the real server, e.g. https://api.openai.com/v1")
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--api-key-env", default=None,
                        help="environment variable holding the upstream's key (clients may send any key)")
    parser.add_argument("--events", default="proxy-events.jsonl", help="JSONL file the events are appended to")
    parser.add_argument("--run-id", default="proxy", help="run id of calls that do not send X-RLM-Run-Id")
    parser.add_argument("--prices-json", default=None,
                        help='{"model": {"input": 1.25, "cached_input": 0.125, "output": 10}} in USD per 1M tokens')
    parser.add_argument("--text-limit", type=int, default=0, help="also record prompts and replies, cut to N chars")
    parser.add_argument("--no-stream-usage", action="store_true",
                        help="never add stream_options.include_usage (for servers that reject it)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    prices = _prices(args.prices_json)
    try:
        proxy = RecordingProxy(args.upstream, None, api_key_env=args.api_key_env, prices=prices, run_id=args.run_id,
                               text_limit=args.text_limit or None, port=args.port,
                               stream_usage=not args.no_stream_usage)
        sink = JsonlSink(args.events)  # opened only once the arguments are known to be good
        proxy.recorder.sink = sink
        proxy.start()
    except (RLMError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{READY_PREFIX}{proxy.base_url}", flush=True)

    def stop() -> None:
        proxy.stop()
        sink.close()

    serve_until_terminated(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())

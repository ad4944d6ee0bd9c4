"""`python -m rlm.sim --port 8000 [--profile vllm]`: serve the simulator until killed."""
from __future__ import annotations

import argparse
import logging
import sys

from rlm.serving import serve_until_terminated
from rlm.sim.faults import FaultConfig
from rlm.sim.process import READY_PREFIX, specs_from_json
from rlm.sim.profiles import PROFILES
from rlm.sim.server import SimServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlm.sim", description="Offline OpenAI-compatible simulator.")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-scale", type=float, default=0.0, help="multiplies all latencies; 0 = instant")
    parser.add_argument("--policy", default="auto", choices=["auto"])
    parser.add_argument("--faults", default="", help='fault rates, e.g. "429=0.05,500=0.01,retry_after=1"')
    parser.add_argument("--models-json", default=None, help="JSON list of SimModelSpec fields")
    parser.add_argument("--cache-blocks", type=int, default=200_000)
    parser.add_argument("--profile", default="openai", choices=sorted(PROFILES),
                        help="answer as this server does: usage in streams, overflow and error shapes")
    parser.add_argument("--max-concurrent", type=int, default=None, help="429 above this many requests at once")
    parser.add_argument("--concurrency-retry-after", type=float, default=0.0,
                        help="Retry-After (s) of those 429s")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)

    server = SimServer(models=specs_from_json(args.models_json) if args.models_json else None,
                       policy=args.policy, seed=args.seed, time_scale=args.time_scale,
                       faults=FaultConfig.parse(args.faults) if args.faults else None,
                       port=args.port, cache_blocks=args.cache_blocks, profile=args.profile,
                       max_concurrent=args.max_concurrent,
                       concurrency_retry_after_s=args.concurrency_retry_after).start()
    print(f"{READY_PREFIX}{server.base_url}", flush=True)
    serve_until_terminated(server.stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())

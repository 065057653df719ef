"""Controller CPU and wall time per chat-completion call of OpenAICompatClient.

The scripted server (no latency, tweak-constants answers) runs in its own process, so the CPU time
of this process (``time.process_time()``) is the client's alone: building the request, HTTP, JSON,
the event loop. Calls carry an ~8 KB prompt, like an iteration's. Prints one row per mode, the
median of ``--repeat`` measurements; ``--label`` names the client in the table (run the script with
an older evoforge first on PYTHONPATH to measure the client it had).

    python bench/llm_client.py [--calls 500] [--concurrency 16] [--prompt-kb 8] [--repeat 3]
                               [--label NAME] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

from results import record

from evoforge.config import LLMConfig, ModelConfig
from evoforge.llm.openai_compat import OpenAICompatClient

FUNCTION = (
    "def step_{i}(values, scale=1.5, offset=0.25):\n"
    "    total = 0.0\n"
    "    for value in values:\n"
    "        total += value * scale + offset\n"
    "    return total / max(len(values), 1)\n\n"
)


def prompt(kilobytes: int) -> list[dict[str, str]]:
    """A system message and a user message with a current program, ``kilobytes`` KB in all."""
    body, i = "", 0
    while len(body) < kilobytes * 1024 - 1200:
        body += FUNCTION.format(i=i)
        i += 1
    program = f"# EVOLVE-BLOCK-START\n{body}# EVOLVE-BLOCK-END\n"
    system = "You improve programs. Answer with SEARCH/REPLACE blocks only. " * 12
    user = f"## Current program\n\n```python\n{program}```\n\nImprove the score; keep the interface."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The scripted server in a child process; its URL is the last word of its first line."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "evoforge.testing.scripted_server"),
            *("--port", "0", "--latency", "0", "--responder", "tweak-constants"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().split()[-1]


async def measure(
    base_url: str, calls: int, concurrency: int, messages: list[dict[str, str]]
) -> tuple[float, float]:
    """Controller CPU and wall time per call, in ms."""
    model = ModelConfig(name="bench", base_url=base_url, timeout=60, max_concurrency=concurrency)
    client = OpenAICompatClient(model, LLMConfig(retries=0))
    for seed in range(20):  # warm up: connections, caches
        await client.complete(messages, seed=seed)

    async def worker(count: int) -> None:
        for seed in range(count):
            await client.complete(messages, seed=seed)

    shares = [calls // concurrency + (i < calls % concurrency) for i in range(concurrency)]
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await client.aclose()
    return 1000 * cpu / calls, 1000 * wall / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--prompt-kb", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="evoforge.llm.http over httpx")
    parser.add_argument("--record", action="store_true", help="Append the table to bench/RESULTS.md.")
    args = parser.parse_args()
    messages = prompt(args.prompt_kb)
    header = "| client | in flight | controller CPU ms/call | wall ms/call |\n| --- | --- | --- | --- |"
    print(header, flush=True)
    rows = []
    process, base_url = start_server()
    try:
        for concurrency in (1, args.concurrency):
            runs = [
                asyncio.run(measure(base_url, args.calls, concurrency, messages)) for _ in range(args.repeat)
            ]
            cpu, wall = (statistics.median(values) for values in zip(*runs, strict=True))
            rows.append(f"| {args.label} | {concurrency} | {cpu:.3f} | {wall:.3f} |")
            print(rows[-1], flush=True)
    finally:
        process.terminate()
        process.wait()
    if args.record:
        title = f"llm_client.py, {args.calls} calls, ~{args.prompt_kb} KB prompt, median of {args.repeat}"
        record(title, header + "\n" + "\n".join(rows))


if __name__ == "__main__":
    main()

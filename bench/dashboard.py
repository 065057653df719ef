"""The dashboard on a big run: first paint of the run view and of the program view, in Chromium.

Synthesises a run of ``--programs`` programs (default 100,000) through the real store API
(SQLiteStore.create, add_program, add_llm_call; code of about 1.5 kB each, a random earlier parent,
a model call per program), serves it with the real `evoforge dashboard` command and opens each view
once cold (the dashboard's caches empty) and then ``--repeat`` times in headless Debian Chromium
(Playwright). It prints, per view: first contentful paint (the browser's own mark) and ready (every
chart drawn from the API's data, the page's ``data-ready`` mark), in ms from the start of navigation,
for the cold visit and as the median of the others. The issue's targets: run
view first paint <= 2 s, program view <= 300 ms.

    python bench/dashboard.py [--programs 100000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from evoforge.records import Candidate, Evaluation, LLMCall, RunInfo
from evoforge.storage import SQLiteStore
from evoforge.testing.dashboard import CHROMIUM, serving

BODY = "\n".join(f"    total += weights[{i}] * math.sin(x * {i}.5)  # term {i}" for i in range(24))
CODE = "import math\n\n# EVOLVE-BLOCK-START\ndef solve(x, weights):\n    total = 0.0\n"
CODE += f"{BODY}\n    return total\n# EVOLVE-BLOCK-END\n"


def synthesise(run_dir: Path, programs: int, seed: int = 0) -> None:
    """A run of ``programs`` programs written through the store, as the controller writes them."""
    rng = random.Random(seed)
    info = RunInfo(
        "bench", "bench", {"iterations": programs, "database": {"num_islands": 4}}, seed, time.time(), "0"
    )
    features = {"code_length": float(len(CODE)), "diversity": 0.0}
    initial = (
        Candidate(0, CODE, None, (), 0, 0, "initial"),
        Evaluation({"combined_score": 0.0}, {}, 0.0, True),
        features,
    )
    with SQLiteStore.create(run_dir, info, initial) as store:
        for start in range(1, programs, 1000):
            with store.transaction():
                for pid in range(start, min(start + 1000, programs)):
                    code = CODE.replace("0.0", f"{rng.random():.6f}", 1) + f"# variant {pid}\n"
                    prompt = ({"role": "user", "content": "improve " + code},)
                    model = rng.choice(["model-a", "model-b"])
                    call = store.add_llm_call(
                        LLMCall(pid, model, prompt, code, 900, 120, 1.5, None, time.time())
                    )
                    ok = rng.random() > 0.1
                    score = rng.gauss(pid / programs, 0.1) if ok else float("-inf")
                    evaluation = Evaluation({"combined_score": score} if ok else {}, {}, score, ok)
                    candidate = Candidate(pid, code, rng.randrange(pid), (), pid % 4, 1, "llm", call)
                    store.add_program(candidate, evaluation, {"code_length": float(len(code)),
                                                              "diversity": rng.random()})  # fmt: skip


def measure(page: object, url: str) -> tuple[float, float]:
    """(first contentful paint, ready) in ms after navigation start."""
    page.goto(url, timeout=120_000)  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)  # type: ignore[attr-defined]
    paint = "performance.getEntriesByName('first-contentful-paint')"
    page.wait_for_function(f"{paint}.length > 0", timeout=120_000)  # type: ignore[attr-defined]
    return page.evaluate(f"[{paint}[0].startTime, window.evoforge.readyAt]")  # type: ignore[attr-defined,no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="Build the run here (reused when it exists).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = args.keep or Path(scratch) / "big"
        if not (run_dir / "evoforge.db").exists():
            began = time.perf_counter()
            synthesise(run_dir, args.programs)
            print(f"synthesised {args.programs} programs in {time.perf_counter() - began:.1f} s "
                  f"({(run_dir / 'evoforge.db').stat().st_size / 1e6:.0f} MB)")  # fmt: skip
        with serving(run_dir) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            name = run_dir.name
            best = page.request.get(f"{url}/api/runs/{name}/summary").json()["best_program_id"]
            views = {
                "run": f"/runs/{name}",
                "program": f"/runs/{name}/programs/{best}",
                "archive": f"/runs/{name}/archive",
                "lineage": f"/runs/{name}/lineage/{best}",
            }
            print(f"{'view':<10}{'cold paint':>12}{'cold ready':>12}{'paint':>8}{'ready':>8}  ms "
                  f"(cold: first visit, nothing cached; then the median of {args.repeat})")  # fmt: skip
            for view, path in views.items():
                cold = measure(page, url + path)
                times = [measure(page, url + path) for _ in range(args.repeat)]
                paint = statistics.median(t[0] for t in times)
                ready = statistics.median(t[1] for t in times)
                print(f"{view:<10}{cold[0]:>12.0f}{cold[1]:>12.0f}{paint:>8.0f}{ready:>8.0f}", flush=True)
            browser.close()


if __name__ == "__main__":
    main()

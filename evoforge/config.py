"""The typed run configuration: YAML in, validated pydantic models out.

Unknown keys, wrong types and impossible values are errors naming the file and the dotted key,
so a typo never silently falls back to a default. Every key is documented in docs/config.md.
"""

from __future__ import annotations

import copy
import difflib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, Field, ValidationError

from evoforge.config_base import Strict
from evoforge.database.dedup import DedupConfig
from evoforge.database.settings import DatabaseConfig, Objective
from evoforge.errors import ConfigError
from evoforge.evaluation.ray_settings import RayConfig
from evoforge.evaluation.settings import EvaluationConfig
from evoforge.llm.feedback_settings import JudgeList, RepairConfig
from evoforge.llm.settings import ENV_REFERENCE, HEADER_NAME, LLMConfig, ModelConfig  # noqa: F401
from evoforge.mutators.settings import GPConfig, MutatorName, RefineConfig, TuneConfig
from evoforge.prompts.meta_settings import MetaPromptConfig
from evoforge.prompts.settings import PromptConfig
from evoforge.search_mode import SearchModeConfig

log = logging.getLogger(__name__)

SandboxProperty = Literal[
    "separate_uid",
    "tree_kill",
    "network_off",
    "pid_namespace",
    "private_filesystem",
    "memory_total",
    "writes_confined",
    "signals_confined",
]


class SandboxConfig(Strict):
    """How candidates are isolated beyond the limits of ``evaluation`` (docs/security.md)."""

    isolation: Literal["auto", "process"] = "auto"
    require: list[SandboxProperty] = Field(default_factory=list)
    cgroups: bool = True
    landlock: bool = True
    uid_base: int = Field(default=61000, ge=1000, le=2**31 - 4096)
    scratch_mb: int = Field(default=512, gt=0)
    preload: Literal["auto"] | list[str] = "auto"


class Config(Strict):
    """The whole configuration of a run. Every field has a default; see docs/config.md."""

    seed: int = Field(default=0, ge=-(2**63), le=2**63 - 1)  # stored as an SQLite INTEGER
    iterations: int = Field(default=100, ge=0)
    target_score: float | None = None
    max_wall_time_s: float | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, gt=0)  # budgets.py: spend caps over all model calls
    max_tokens: int | None = Field(default=None, gt=0)
    max_llm_calls: int | None = Field(default=None, gt=0)
    score_metric: str | None = None
    llm: LLMConfig = Field(default_factory=LLMConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    ray: RayConfig = Field(default_factory=RayConfig)  # with evaluation.backend: ray
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    objectives: list[Objective] = Field(default_factory=list)  # two or more: a Pareto front per island
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    mutators: dict[MutatorName, Annotated[float, Field(gt=0)]] | None = Field(default=None, min_length=1)
    meta_prompts: MetaPromptConfig = Field(default_factory=MetaPromptConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)
    refine: RefineConfig = Field(default_factory=RefineConfig)
    gp: GPConfig = Field(default_factory=GPConfig)
    files: list[str] = Field(default_factory=list)  # evolved beside the program: see codebase.py
    search_mode: SearchModeConfig | None = None  # off unless given: see search_mode.py
    repair: RepairConfig = Field(default_factory=RepairConfig)
    judges: JudgeList = Field(default_factory=list)

    def with_base_url(self, base_url: str) -> Config:
        """This config with every model of the ensemble asked at ``base_url`` (judges keep theirs)."""
        models = [model.model_copy(update={"base_url": base_url}) for model in self.llm.models]
        return self.model_copy(update={"llm": self.llm.model_copy(update={"models": models})})


def _format_validation_error(error: ValidationError, source: str, overrides: Sequence[str] = ()) -> str:
    first = error.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    key = ".".join(loc) or "(top level)"
    source = _origin(loc, overrides) or source
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'{_did_you_mean(loc)}"
    message = first["msg"].removeprefix("Value error, ")
    if not isinstance(first["input"], dict | list):
        message += f" (got {first['input']!r:.60})"
    return f"{source}: {key}: {message}"


def _origin(loc: tuple[str, ...], overrides: Sequence[str]) -> str | None:
    """The ``--set`` that wrote the offending key (the last one wins), or None when the file did."""
    for assignment in reversed(overrides):
        parts = tuple(assignment.partition("=")[0].strip().split("."))
        common = min(len(parts), len(loc))
        if loc and parts[:common] == loc[:common]:
            return f"--set {assignment!r}"
    return None


def _did_you_mean(loc: tuple[str, ...]) -> str:
    """A hint naming the closest valid key of the same section, for typos."""
    model: Any = Config
    for part in loc[:-1]:
        if part.isdigit():
            continue  # an item of a list (llm.models.0): the list's item model
        field = model.model_fields.get(part)
        if field is None:
            return ""
        model = next((a for a in get_args(field.annotation) if isinstance(a, type)), field.annotation)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return ""
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1) if loc else []
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_config(data: dict[str, Any], source: str = "config", overrides: Sequence[str] = ()) -> Config:
    """Validate a plain dict as a Config; raise ConfigError naming where the bad key came from.

    That is the ``--set`` among ``overrides`` that wrote the key, else ``source`` (the file).
    """
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error, source, overrides)) from None


def read_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping (an empty file is an empty mapping); bad YAML is a one-line ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``a.b=c`` override in place; the value is parsed as YAML (so 3 is an int, true a bool)."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. --set evaluation.timeout_s=30")
    parts = key.strip().split(".")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = _list_item(node, part, assignment)
            continue
        child = node.setdefault(part, {})
        if not isinstance(child, dict | list):
            raise ConfigError(f"--set {assignment!r}: '{part}' is not a section")
        node = child
    if isinstance(node, list):
        _list_item(node, parts[-1], assignment)
        node[int(parts[-1])] = yaml.safe_load(raw)
        return
    try:
        node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        node[parts[-1]] = raw


def _list_item(items: list[Any], index: str, assignment: str) -> Any:
    """``models.0`` addresses the first model of a list."""
    if not index.isdigit() or int(index) >= len(items):
        raise ConfigError(f"--set {assignment!r}: '{index}' is not an index of a list of {len(items)}")
    return items[int(index)]


def load_config(
    path: Path | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
) -> Config:
    """Load ``path`` (if given) on top of ``base``, apply ``--set`` overrides, and validate."""
    data: dict[str, Any] = dict(base or {})
    source = "config"
    if path is not None:
        data = _deep_merge(data, _native(read_yaml(path), path))
        source = str(path)
    if not overrides:
        return parse_config(data, source)
    merged = copy.deepcopy(data)
    try:
        for assignment in overrides:
            apply_override(merged, assignment)
        return parse_config(merged, source, overrides)
    except ConfigError:
        parse_config(data, source)  # a mistake in the file itself is reported as the file's
        raise


def _native(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """``data`` as evoforge's configuration: an OpenEvolve file (known by its keys) is translated."""
    from evoforge.compat.openevolve_config import is_openevolve_config, translate

    if not is_openevolve_config(data):
        return data
    translated, warnings = translate(data)
    log.info("%s: an OpenEvolve configuration, read as evoforge's (docs/migrating.md)", path)
    for warning in warnings:
        log.warning("%s: %s", path, warning)
    return translated


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged

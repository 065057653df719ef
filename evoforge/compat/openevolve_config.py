"""OpenEvolve's YAML configuration, read as evoforge's: recognised by its shape, mapped key by key.

Every OpenEvolve key with an evoforge equivalent is translated; every other key is reported once, in
a warning that says why it has none (docs/migrating.md lists them all). Nothing OpenEvolve accepts is
rejected: values evoforge would refuse (selection ratios that do not sum to one, a null seed) are
brought into range with a warning, as OpenEvolve itself tolerates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Top-level keys only OpenEvolve has: any of them marks a file as OpenEvolve's.
_OPENEVOLVE_TOP = {
    "max_iterations", "checkpoint_interval", "log_level", "log_dir", "random_seed", "language",
    "file_suffix", "evaluator", "evolution_trace", "diff_based_evolution", "max_code_length",
    "diff_pattern", "early_stopping_patience", "convergence_threshold", "early_stopping_metric",
    "max_tasks_per_child",
}  # fmt: skip
_OPENEVOLVE_LLM = {"primary_model", "secondary_model", "primary_model_weight", "secondary_model_weight",
                   "api_base", "api_key", "evaluator_models", "top_p", "retry_delay"}  # fmt: skip
_ENV_VALUE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Keys evoforge has no use for, with the reason the warning gives.
_NO_EQUIVALENT = {
    "checkpoint_interval": "every program is stored in the run database as soon as it is evaluated",
    "log_level": "use evoforge -v for more detail",
    "log_dir": "logs go to the run folder",
    "language": "the language follows the program file's extension",
    "file_suffix": "the program file's extension is kept",
    "diff_pattern": "evoforge parses SEARCH/REPLACE blocks itself",
    "max_code_length": "evoforge does not cap code length",
    "early_stopping_patience": "evoforge stops on iterations, target_score, wall time or cost",
    "convergence_threshold": "evoforge stops on iterations, target_score, wall time or cost",
    "early_stopping_metric": "evoforge stops on iterations, target_score, wall time or cost",
    "max_tasks_per_child": "every evaluation runs in a fresh sandboxed process",
    "evolution_trace": "the run database records every prompt, answer and program",
    "llm.retry_delay": "retries back off exponentially",
    "prompt.artifact_security_filter": "artifacts are bounded in size and never executed",
    "prompt.suggest_simplification_after_chars": "no equivalent",
    "prompt.include_changes_under_chars": "no equivalent",
    "prompt.concise_implementation_max_lines": "no equivalent",
    "prompt.comprehensive_implementation_min_lines": "no equivalent",
    "prompt.code_length_threshold": "no equivalent",
    "database.db_path": "the database is <run_dir>/evoforge.db",
    "database.in_memory": "the database is <run_dir>/evoforge.db",
    "database.log_prompts": "prompts are always recorded",
    "database.population_size": "the archive keeps MAP-Elites elites per island, not a fixed population",
    "database.archive_size": "the archive keeps MAP-Elites elites per island, not a fixed population",
    "database.diversity_metric": "diversity is a lexical distance",
    "database.diversity_reference_size": "diversity is measured against the initial program",
    "database.artifacts_base_path": "artifacts are stored in the run database",
    "database.artifact_size_threshold": "artifacts are stored in the run database",
    "database.cleanup_old_artifacts": "artifacts are stored in the run database",
    "database.artifact_retention_days": "artifacts are stored in the run database",
    "evaluator.max_retries": "a failed evaluation is recorded, not retried",
    "evaluator.cpu_limit": "use evaluation.cpu_s (CPU seconds)",
    "evaluator.distributed": "use evaluation.backend",
    "evaluator.enable_artifacts": "artifacts are always kept; prompt.include_artifacts decides if shown",
    "evaluator.llm_feedback_weight": "a judge's grade is its own metric, judge_feedback (docs/llm.md)",
    "prompt.template_dir": "OpenEvolve's templates are not evoforge's Jinja2 templates (docs/prompts.md)",
    "prompt.use_template_stochasticity": "evoforge's variants are set by prompt.variants (docs/prompts.md)",
    "prompt.template_variations": "evoforge's variants are set by prompt.variants (docs/prompts.md)",
    "prompt.meta_prompt_weight": "meta-prompts are chosen by the improvement they bring (docs/prompts.md)",
    "database.similarity_threshold": "used with database.embedding_model only, as in OpenEvolve",
    "database.novelty_llm": "novelty is a similarity threshold (database.novelty)",
}
FEEDBACK_RUBRIC = (
    "Grade the program's code quality: readability, maintainability and efficiency, "
    "as an expert code reviewer would."
)
_FEATURES = {"complexity": "code_length", "diversity": "diversity"}


def is_openevolve_config(data: dict[str, Any]) -> bool:
    """True when ``data`` has a key only OpenEvolve's configuration has."""
    llm = data.get("llm")
    return bool(_OPENEVOLVE_TOP & data.keys()) or (
        isinstance(llm, dict) and bool(_OPENEVOLVE_LLM & llm.keys())
    )


class _Translation:
    def __init__(self, data: dict[str, Any]) -> None:
        self.source = data
        self.out: dict[str, Any] = {}
        self.warnings: list[str] = []

    def put(self, dotted: str, value: Any) -> None:
        node = self.out
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    def warn(self, key: str, why: str) -> None:
        self.warnings.append(f"OpenEvolve key '{key}' has no evoforge equivalent and is ignored ({why})")


def translate(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """evoforge's configuration dict for OpenEvolve's ``data``, and one warning per ignored key."""
    t = _Translation(data)
    for key, value in data.items():
        handler = _TOP.get(key)
        if handler is not None:
            handler(t, value)
        elif isinstance(value, dict) and key in _SECTIONS:
            for sub, sub_value in value.items():
                _translate_key(t, f"{key}.{sub}", sub_value)
        else:
            t.warn(key, _NO_EQUIVALENT.get(key, "unknown to evoforge"))
    llm = data.get("llm") if isinstance(data.get("llm"), dict) else {}
    _models(t, llm)
    _cascade(t, _section(data, "evaluator"))
    _judge(t, llm, _section(data, "evaluator"), _section(data, "prompt"))
    _ratios(t)
    return t.out, t.warnings


def _translate_key(t: _Translation, dotted: str, value: Any) -> None:
    target = _RENAMED.get(dotted)
    if target is not None:
        if value is not None:
            t.put(target, value)
        return
    handler = _SPECIAL.get(dotted)
    if handler is not None:
        handler(t, value)
    elif dotted not in _MODEL_KEYS:
        t.warn(dotted, _NO_EQUIVALENT.get(dotted, "unknown to evoforge"))


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    section = data.get(name)
    return section if isinstance(section, dict) else {}


def _cascade(t: _Translation, evaluator: dict[str, Any]) -> None:
    """OpenEvolve runs the evaluator's stages unless ``cascade_evaluation`` is false; it gates stage 2
    on the first threshold and stage 3 on the second (a third is never read)."""
    if evaluator.get("cascade_evaluation", True) is False:
        return
    thresholds = evaluator.get("cascade_thresholds")
    thresholds = [0.5, 0.75] if thresholds is None else list(thresholds)
    if len(thresholds) > 2:
        t.warnings.append("OpenEvolve key 'evaluator.cascade_thresholds': only the first two gate a stage")
    t.put("evaluation.cascade", {"thresholds": thresholds[:2]})


def _judge(t: _Translation, llm: dict[str, Any], evaluator: dict[str, Any], prompt: dict[str, Any]) -> None:
    """``use_llm_feedback``: one judge, the first evaluator model, graded into the metric judge_feedback."""
    if not evaluator.get("use_llm_feedback"):
        return
    models = [m for m in llm.get("evaluator_models") or [] if isinstance(m, dict) and m.get("name")]
    models = models or [m for m in t.out.get("llm", {}).get("models", [])]
    if not models:
        t.warnings.append("OpenEvolve key 'evaluator.use_llm_feedback' names no model: no judge")
        return
    rubric = prompt.get("evaluator_system_message") or FEEDBACK_RUBRIC
    t.put("judges", [{"name": "feedback", "model": _model(t, models[0], llm), "rubric": rubric}])


def _novelty(t: _Translation, model: Any) -> None:
    if not model:
        return
    database = _section(t.source, "database")
    novelty = {"enabled": True, "embedding": {"model": model}}
    if database.get("similarity_threshold") is not None:
        novelty["threshold"] = database["similarity_threshold"]
    api_base = _section(t.source, "llm").get("api_base")
    if api_base:
        novelty["embedding"]["base_url"] = api_base
    t.put("database.novelty", novelty)


def _seed(t: _Translation, value: Any) -> None:
    if value is None:
        t.warnings.append("OpenEvolve key 'random_seed' is null (a random seed): evoforge uses seed 0")
    else:
        t.put("seed", value)


def _diff_based(t: _Translation, value: Any) -> None:
    t.put("prompt.edit_mode", "diff" if value else "rewrite")


def _feature_dimensions(t: _Translation, value: Any) -> None:
    t.put("database.feature_dimensions", [_FEATURES.get(name, name) for name in value or []])


def _feature_bins(t: _Translation, value: Any) -> None:
    if isinstance(value, dict):
        t.warnings.append("OpenEvolve key 'database.feature_bins' per dimension: evoforge uses the largest")
        value = max(value.values(), default=10)
    t.put("database.feature_bins", value)


def _migration_rate(t: _Translation, value: Any) -> None:
    t.warnings.append(
        "OpenEvolve key 'database.migration_rate' is a fraction; evoforge migrates "
        "database.migration_count programs (kept at its default)"
    )


_TOP: dict[str, Callable[[_Translation, Any], None]] = {
    "max_iterations": lambda t, v: t.put("iterations", v),
    "random_seed": _seed,
    "diff_based_evolution": _diff_based,
}
_SECTIONS = {"llm", "prompt", "database", "evaluator"}
_RENAMED = {
    "llm.retries": "llm.retries",
    "llm.system_message": "prompt.system_message",
    "prompt.system_message": "prompt.system_message",
    "prompt.num_top_programs": "database.num_top_inspirations",
    "prompt.num_diverse_programs": "database.num_diverse_inspirations",
    "prompt.include_artifacts": "prompt.include_artifacts",
    "prompt.max_artifact_bytes": "prompt.max_artifact_chars",
    "database.num_islands": "database.num_islands",
    "database.migration_interval": "database.migration_interval",
    "database.elite_selection_ratio": "database.elite_ratio",
    "database.exploration_ratio": "database.exploration_ratio",
    "database.exploitation_ratio": "database.exploitation_ratio",
    "evaluator.timeout": "evaluation.timeout_s",
    "evaluator.parallel_evaluations": "evaluation.parallel",
    "evaluator.memory_limit_mb": "evaluation.memory_mb",
    "evaluator.max_artifact_storage": "evaluation.max_total_artifact_bytes",
}
_SPECIAL: dict[str, Callable[[_Translation, Any], None]] = {
    "database.feature_dimensions": _feature_dimensions,
    "database.feature_bins": _feature_bins,
    "database.migration_rate": _migration_rate,
    "database.random_seed": lambda t, v: None if "random_seed" in t.source else _seed(t, v),
    "database.embedding_model": lambda t, v: _novelty(t, v),
    "database.similarity_threshold": lambda t, v: (
        None
        if _section(t.source, "database").get("embedding_model")
        else t.warn("database.similarity_threshold", _NO_EQUIVALENT["database.similarity_threshold"])
    ),
    "evaluator.cascade_evaluation": lambda t, v: None,  # read by _cascade
    "evaluator.cascade_thresholds": lambda t, v: None,
    "evaluator.use_llm_feedback": lambda t, v: None,  # read by _judge
    "llm.evaluator_models": lambda t, v: None,
    "prompt.evaluator_system_message": lambda t, v: None,
    "prompt.use_meta_prompting": lambda t, v: t.put("meta_prompts.enabled", bool(v)),
}
# Read by _models: shared defaults and the model list.
_MODEL_KEYS = {
    "llm.models", "llm.primary_model", "llm.primary_model_weight", "llm.secondary_model",
    "llm.secondary_model_weight", "llm.api_base", "llm.api_key", "llm.temperature", "llm.top_p",
    "llm.max_tokens", "llm.timeout", "llm.reasoning_effort", "llm.random_seed",
}  # fmt: skip


def _models(t: _Translation, llm: dict[str, Any]) -> None:
    """llm.models from OpenEvolve's list and its primary/secondary shorthand, shared values filled in."""
    entries = [dict(m) for m in llm.get("models") or [] if isinstance(m, dict)]
    if llm.get("primary_model"):
        entries.append({"name": llm["primary_model"], "weight": llm.get("primary_model_weight") or 1.0})
    secondary_weight = llm.get("secondary_model_weight")
    if llm.get("secondary_model") and (secondary_weight is None or secondary_weight > 0):
        entries.append(
            {"name": llm["secondary_model"], "weight": 0.2 if secondary_weight is None else secondary_weight}
        )
    models = [_model(t, entry, llm) for entry in entries]
    if models:
        t.put("llm.models", models)


def _model(t: _Translation, entry: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    def pick(key: str) -> Any:
        return entry.get(key) if entry.get(key) is not None else shared.get(key)

    model: dict[str, Any] = {"name": entry["name"]}
    for source, target in (("weight", "weight"), ("temperature", "temperature"), ("max_tokens", "max_tokens"),
                           ("timeout", "timeout"), ("reasoning_effort", "reasoning_effort")):  # fmt: skip
        if pick(source) is not None:
            model[target] = pick(source)
    if pick("api_base"):
        model["base_url"] = pick("api_base")
    if pick("top_p") is not None:
        model["extra_body"] = {"top_p": pick("top_p")}
    key = pick("api_key")
    if isinstance(key, str) and key:
        reference = _ENV_VALUE.fullmatch(key.strip())
        if reference:
            model["api_key_env"] = reference.group(1)
        else:
            t.warnings.append(
                f"model {entry['name']}: a literal api_key in the config is not used; "
                "put the key in OPENAI_API_KEY (or set api_key: ${NAME})"
            )
    for ignored in sorted(set(entry) - {"name", "weight", "temperature", "max_tokens", "timeout",
                                        "reasoning_effort", "api_base", "top_p", "api_key"}):  # fmt: skip
        t.warn(f"llm.models[].{ignored}", "no per-model equivalent")
    return model


def _ratios(t: _Translation) -> None:
    """Scale the three selection ratios to sum to one, as OpenEvolve does not require it."""
    database = t.out.get("database", {})
    names = ("exploration_ratio", "exploitation_ratio", "elite_ratio")
    defaults = {"exploration_ratio": 0.2, "exploitation_ratio": 0.7, "elite_ratio": 0.1}
    if not any(name in database for name in names):
        return
    values = {name: float(database.get(name, defaults[name])) for name in names}
    total = sum(values.values())
    if total > 0 and abs(total - 1.0) > 1e-9:
        t.warnings.append(f"selection ratios sum to {total:g}; scaled to sum to 1 as evoforge requires")
        for name, value in values.items():
            database[name] = value / total

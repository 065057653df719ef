"""An OpenEvolve configuration with every documented key loads, mapped, with one warning per key without
an equivalent, and nothing OpenEvolve accepts is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from evoforge.compat.openevolve_config import is_openevolve_config, translate
from evoforge.config import load_config

EVERY_KEY = {
    "max_iterations": 40, "checkpoint_interval": 10, "log_level": "INFO", "log_dir": None, "random_seed": 42,
    "language": "python", "file_suffix": ".py", "diff_based_evolution": False, "max_code_length": 10000,
    "diff_pattern": "x", "early_stopping_patience": None, "convergence_threshold": 0.001,
    "early_stopping_metric": "combined_score", "max_tasks_per_child": None,
    "llm": {
        "models": [
            {"name": "m1", "weight": 0.8, "api_key": "${M1_KEY}"}, {"name": "m2", "weight": 0.2, "top_p": 0.9}
        ],
        "evaluator_models": [{"name": "judge-model", "weight": 1.0}],
        "api_base": "https://example.org/v1", "api_key": None, "temperature": 0.5, "top_p": 0.95,
        "max_tokens": 2048, "timeout": 60, "retries": 2, "retry_delay": 5, "system_message": "Be brief.",
        "reasoning_effort": "low", "random_seed": 3,
    },
    "prompt": {
        "template_dir": None, "system_message": "You improve programs.",
        "evaluator_system_message": "Review.",
        "num_top_programs": 3, "num_diverse_programs": 2, "use_template_stochasticity": True,
        "template_variations": {"a": ["b"]}, "use_meta_prompting": True, "meta_prompt_weight": 0.1,
        "include_artifacts": True, "max_artifact_bytes": 20480, "artifact_security_filter": True,
        "suggest_simplification_after_chars": 500, "include_changes_under_chars": 100,
        "concise_implementation_max_lines": 10, "comprehensive_implementation_min_lines": 50,
        "code_length_threshold": None,
    },
    "database": {
        "db_path": None, "in_memory": True, "log_prompts": True, "population_size": 1000, "archive_size": 100,
        "num_islands": 5, "elite_selection_ratio": 0.1, "exploration_ratio": 0.3, "exploitation_ratio": 0.7,
        "diversity_metric": "edit_distance", "feature_dimensions": ["complexity", "diversity", "speed"],
        "feature_bins": {"complexity": 10, "diversity": 12}, "diversity_reference_size": 20,
        "migration_interval": 50, "migration_rate": 0.1, "random_seed": 42, "artifacts_base_path": None,
        "artifact_size_threshold": 32768, "cleanup_old_artifacts": True, "artifact_retention_days": 30,
        "embedding_model": "text-embedding-3-small", "similarity_threshold": 0.95,
    },
    "evaluator": {
        "timeout": 300, "max_retries": 3, "memory_limit_mb": 4096, "cpu_limit": None,
        "cascade_evaluation": True, "cascade_thresholds": [0.5, 0.75, 0.9], "parallel_evaluations": 4,
        "distributed": False, "use_llm_feedback": True, "llm_feedback_weight": 0.1, "enable_artifacts": True,
        "max_artifact_storage": 104857600,
    },
    "evolution_trace": {"enabled": False},
}  # fmt: skip


def test_every_documented_key_loads_mapped_with_the_expected_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert is_openevolve_config(EVERY_KEY)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(EVERY_KEY))
    with caplog.at_level(logging.WARNING, logger="evoforge.config"):
        config = load_config(path)
    assert (config.iterations, config.seed, config.prompt.edit_mode) == (40, 42, "rewrite")
    first, second = config.llm.models
    assert (first.name, first.weight, first.api_key_env, first.base_url) == (
        "m1",
        0.8,
        "M1_KEY",
        "https://example.org/v1",
    )
    assert (second.temperature, second.max_tokens, second.timeout, second.extra_body) == (
        0.5,
        2048,
        60,
        {"top_p": 0.9},
    )
    assert first.reasoning_effort == "low" and config.llm.retries == 2
    assert config.prompt.system_message == "You improve programs."
    assert (config.database.num_top_inspirations, config.database.num_diverse_inspirations) == (3, 2)
    assert config.database.feature_dimensions == ["code_length", "diversity", "speed"]
    assert config.database.feature_bins == 12 and config.database.num_islands == 5
    assert config.database.elite_ratio == pytest.approx(0.1 / 1.1)  # scaled: OpenEvolve's sum to 1.1
    assert config.database.novelty.enabled and config.database.novelty.threshold == 0.95
    assert config.evaluation.cascade is not None and config.evaluation.cascade.thresholds == [0.5, 0.75]
    assert (config.evaluation.timeout_s, config.evaluation.parallel, config.evaluation.memory_mb) == (
        300,
        4,
        4096,
    )
    assert config.meta_prompts.enabled
    assert [j.model.name for j in config.judges] == ["judge-model"] and config.judges[0].rubric == "Review."
    warned = {m.split("'")[1] for m in caplog.messages if m.count("'") >= 2 and "OpenEvolve key" in m}
    assert warned == {
        "checkpoint_interval", "log_level", "log_dir", "language", "file_suffix", "diff_pattern",
        "max_code_length", "early_stopping_patience", "convergence_threshold", "early_stopping_metric",
        "max_tasks_per_child", "evolution_trace", "llm.retry_delay", "prompt.template_dir",
        "prompt.use_template_stochasticity", "prompt.template_variations", "prompt.meta_prompt_weight",
        "prompt.artifact_security_filter", "prompt.suggest_simplification_after_chars",
        "prompt.include_changes_under_chars", "prompt.concise_implementation_max_lines",
        "prompt.comprehensive_implementation_min_lines", "prompt.code_length_threshold", "database.db_path",
        "database.in_memory", "database.log_prompts", "database.population_size", "database.archive_size",
        "database.diversity_metric", "database.feature_bins", "database.diversity_reference_size",
        "database.migration_rate", "database.artifacts_base_path", "database.artifact_size_threshold",
        "database.cleanup_old_artifacts", "database.artifact_retention_days", "evaluator.max_retries",
        "evaluator.cpu_limit", "evaluator.distributed", "evaluator.cascade_thresholds",
        "evaluator.llm_feedback_weight", "evaluator.enable_artifacts",
    }  # fmt: skip


def test_evoforge_configs_are_not_taken_for_openevolve_ones() -> None:
    assert not is_openevolve_config({"iterations": 5, "llm": {"models": [{"name": "m"}]}, "evaluation": {}})


def test_the_primary_and_secondary_shorthand_follows_openevolve() -> None:
    data, _ = translate({"llm": {"primary_model": "a", "secondary_model": "b", "secondary_model_weight": 0}})
    assert data["llm"]["models"] == [{"name": "a", "weight": 1.0}]  # a zero-weight secondary is left out

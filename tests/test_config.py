"""Config loading: every mistake names the file and the dotted key; every key is documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from evoforge.config import Config, load_config, parse_config
from evoforge.errors import ConfigError

DOCS = Path(__file__).parents[1] / "docs" / "config.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_are_valid() -> None:
    config = parse_config({})
    assert config.llm.models == []
    assert config.evaluation.parallel >= 1


def test_unknown_nested_key_names_file_and_dotted_key(tmp_path: Path) -> None:
    path = write(tmp_path, "evaluation:\n  timeout: 3\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: unknown key 'evaluation\.timeout'"):
        load_config(path)


def test_wrong_type_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  max_inflight: many\n")
    with pytest.raises(ConfigError, match=r"llm\.max_inflight: Input should be a valid integer"):
        load_config(path)


def test_impossible_value(tmp_path: Path) -> None:
    path = write(tmp_path, "database:\n  num_islands: -2\n")
    with pytest.raises(ConfigError, match=r"database\.num_islands: Input should be greater than 0"):
        load_config(path)


def test_ratios_must_sum_to_one() -> None:
    with pytest.raises(ConfigError, match="must be 1"):
        parse_config({"database": {"exploration_ratio": 0.9}})


def test_model_entry_key_is_indexed(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  models:\n    - {name: a, wieght: 2}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'llm\.models\.0\.wieght'"):
        load_config(path)


def test_invalid_yaml_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: [1\n")
    with pytest.raises(ConfigError, match=r"invalid YAML \(line"):
        load_config(path)


def test_overrides_parse_values_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\n")
    config = load_config(path, ["seed=7", "evaluation.timeout_s=2.5", "llm.models=[{name: m}]"])
    assert config.seed == 7
    assert config.evaluation.timeout_s == 2.5
    assert config.llm.models[0].name == "m"


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(None, ["seed"])


def _dotted_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_dotted_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_key_is_documented() -> None:
    from evoforge.config import ModelConfig

    text = DOCS.read_text()
    keys = _dotted_keys(Config) + [f"llm.models[].{k}" for k in _dotted_keys(ModelConfig)]
    missing = [key for key in keys if f"`{key}`" not in text]
    assert not missing, f"undocumented config keys: {missing}"


def test_override_addresses_list_items(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  models:\n    - {name: a}\n    - {name: b}\n")
    config = load_config(path, ["llm.models.1.temperature=0.2"])
    assert config.llm.models[1].temperature == 0.2
    with pytest.raises(ConfigError, match="not an index"):
        load_config(path, ["llm.models.5.temperature=0.2"])


def test_a_bad_override_is_named_instead_of_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "seed: 1\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, ["seed=2", "evaluation.timeout_s=-1"])
    assert str(raised.value) == (
        "--set 'evaluation.timeout_s=-1': evaluation.timeout_s: Input should be greater than 0 (got -1)"
    )


def test_a_mistake_in_the_file_is_the_files_even_with_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "llm: 3\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path, ["llm.models=[{name: m}]"])  # cannot even be applied: llm is not a section
    assert (
        str(raised.value)
        == f"{path}: llm: Input should be a valid dictionary or instance of LLMConfig (got 3)"
    )


def test_an_override_may_repair_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "evaluation:\n  timeout_s: -1\n")
    assert load_config(path, ["evaluation.timeout_s=3"]).evaluation.timeout_s == 3


def test_unknown_key_suggests_the_closest_key_of_its_section(tmp_path: Path) -> None:
    path = write(tmp_path, "llm:\n  models:\n    - {name: a, temprature: 0.1}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: unknown key 'llm.models.0.temprature' (did you mean 'temperature'?)"
    with pytest.raises(ConfigError, match=r"unknown key 'colour'$"):
        parse_config({"colour": "blue"})


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"seed: \xff\n")
    with pytest.raises(ConfigError, match=r"config\.yaml: not UTF-8 text$"):
        load_config(path)

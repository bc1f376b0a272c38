"""Model registry: names resolve offline to loadable folders; bad names fail clearly."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from agentsearch.errors import ConfigError
from agentsearch.llm.models import (
    POLICIES,
    agent_defaults,
    load_model,
    load_tokenizer,
    model_path,
    resolve_model,
)


def test_tiny_random_is_a_saved_two_layer_model_with_the_smollm2_tokenizer():
    model = load_model("tiny-random")
    tokenizer = load_tokenizer("tiny-random")
    assert model.config.num_hidden_layers == 2
    assert not model.training
    # TRL re-creates reference models from this path, so it must be a real folder.
    assert model.config._name_or_path == model_path("tiny-random")
    assert (resolve_model("tiny-random") / "model.safetensors").is_file()
    assert tokenizer.chat_template is not None
    assert tokenizer.eos_token == "<|im_end|>"
    assert model.config.vocab_size >= len(tokenizer)


def test_tiny_random_rebuilds_identically(tmp_path):
    from agentsearch.llm.models import _build_tiny_random

    _build_tiny_random(tmp_path / "a")
    _build_tiny_random(tmp_path / "b")
    first = load_model(tmp_path / "a").state_dict()
    second = load_model(tmp_path / "b").state_dict()
    assert all((first[k] == second[k]).all() for k in first)
    assert (first["model.layers.0.mlp.up_proj.weight"] != 0).any()


def test_a_model_folder_resolves_to_itself():
    folder = resolve_model("tiny-random")
    assert resolve_model(str(folder)) == folder


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="smollm2-135m"):
        resolve_model("smollm2-135")


def test_missing_gguf_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        resolve_model(tmp_path / "absent.gguf")


@pytest.mark.slow
@pytest.mark.parametrize("name", POLICIES)
def test_every_shipped_policy_loads_by_name_offline_with_its_agent_options(name):
    # Merging the shipped adapter into the converted SmolLM2 needs no hub access; the agent options it
    # was fine-tuned with (act-only, no one-shot example) come back for its environment only.
    env_name = name.removeprefix("smollm2-135m-").removesuffix("-sft")
    folder = resolve_model(name)
    assert (folder / "config.json").is_file() and resolve_model(name) == folder
    assert load_model(name).config.num_hidden_layers == 30
    assert agent_defaults(name, env_name) == {"react": False, "icl": False}
    assert agent_defaults(name, "webshop" if env_name != "webshop" else "math") == {}

"""`agentsearch train-q --config YAML`: TRL config fields from a file, flags over it, on tiny-random."""

from __future__ import annotations

import json

import yaml
from train_helpers import write_pairs

from agentsearch.cli import main


def test_train_q_reads_its_trl_options_from_a_config_file_and_flags_override_it(tmp_path, capsys):
    pairs = write_pairs(tmp_path / "pairs.jsonl", 10)
    config = tmp_path / "train_q.yaml"
    config.write_text(yaml.safe_dump({"model": "tiny-random", "max_steps": 1, "beta": 0.05,
                                      "eval_fraction": 0.2, "lora_top_layers": 1}))
    out = tmp_path / "qmodel"
    assert main(["train-q", str(pairs), "--config", str(config), "--out", str(out), "--beta", "0.07"]) == 0
    assert "held-out pairs: accuracy" in capsys.readouterr().out
    meta = json.loads((out / "agentsearch_meta.json").read_text())
    assert meta["base_model"] == "tiny-random"  # `model` from the file
    assert meta["beta"] == 0.07  # the flag over the file's 0.05
    state = json.loads(next(out.rglob("trainer_state.json")).read_text())
    assert state["max_steps"] == 1

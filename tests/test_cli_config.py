"""CLI flags come from the config dataclasses; `--config YAML` on every command; deprecated spellings."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import yaml

from agentsearch.cli import (
    _executor,
    _leaf_parsers,
    _loop_config,
    _trainer_config,
    build_parser,
    main,
    parse_args,
)
from agentsearch.cli_config import ConfigFlags, _show, attribute_docs
from agentsearch.data.demos import DemosConfig
from agentsearch.errors import ConfigError
from agentsearch.eval import EvalConfig
from agentsearch.run import ExecutorConfig, LocalExecutor
from agentsearch.search.beam import BeamConfig
from agentsearch.search.best_of_n import BestOfNConfig
from agentsearch.search.collect import CollectConfig
from agentsearch.search.dfsdt import DFSDTConfig
from agentsearch.search.mcts import MCTSConfig
from agentsearch.search.tree import read_trees
from agentsearch.train.loop import QUICKSTART, LoopConfig

LIGHT_CONFIGS = [CollectConfig, EvalConfig, DemosConfig, LoopConfig, MCTSConfig, DFSDTConfig, BeamConfig,
                 BestOfNConfig]


def leaf(command: str):
    """The parser of ``command`` (``"envs play"``), built as `main` builds it."""
    words = command.split()
    parser = build_parser(words[0])
    return next(p for p in _leaf_parsers(parser) if p.prog == f"agentsearch {command}")


def write_yaml(path, data) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("cls", LIGHT_CONFIGS, ids=lambda c: c.__name__)
def test_every_config_constructs_with_its_defaults(cls):
    assert dataclasses.is_dataclass(cls())


def test_eval_config_compares_qguided_by_default_only_with_a_qmodel():
    assert EvalConfig().compare == ["greedy"]
    assert EvalConfig(qmodel="runs/q").compare == ["greedy", "qguided"]
    assert EvalConfig(qmodel="runs/q", compare=["sampled"]).compare == ["sampled"]
    with pytest.raises(ConfigError, match="needs a Q-model"):
        EvalConfig(compare=["qguided"])


# Each command whose flags are generated: its config class, the values its flags show, renamed flags.
GENERATED = [
    ("collect", CollectConfig, None, {}),
    ("eval", EvalConfig, None, {"agent": "--model", "agent_options": "--agent", "llm_options": "--llm"}),
    ("demos", DemosConfig, None, {}),
    ("quickstart", LoopConfig, QUICKSTART, {}),
    ("iterate", LoopConfig, dataclasses.replace(QUICKSTART, out="runs/iterate"), {}),
]


@pytest.mark.parametrize(("command", "cls", "base", "renamed"), GENERATED, ids=[g[0] for g in GENERATED])
def test_generated_flags_match_the_dataclass_fields_and_defaults(command, cls, base, renamed):
    parser = leaf(command)
    options = parser._option_string_actions
    docs = attribute_docs(cls)
    for f in dataclasses.fields(cls):
        flag = renamed.get(f.name, "--" + f.name.replace("_", "-"))
        assert flag in options, f"{command}: no flag for field {f.name}"
        action = options[flag]
        default = getattr(base, f.name) if base is not None else getattr(cls(), f.name)
        if "default" not in docs.get(f.name, "").lower() and not (command == "eval" and f.name == "compare"):
            assert f"(default: {_show(default)})" in action.help.replace("%%", "%"), (command, f.name)
    help_text = parser.format_help()
    assert "--config YAML" in help_text
    # No flag given: the command builds exactly the library's default config.
    args = parse_args(command.split())
    built = _loop_config(args) if base is not None else args.config_flags.build(args)
    if command == "collect":
        built = cls(**args.config_flags.values(args))
    assert built == (base if base is not None else cls())


def test_eval_flags_use_one_vocabulary_and_override_the_config_file(tmp_path):
    path = write_yaml(tmp_path / "eval.yaml", {"model": "tiny-random", "tasks": 3, "agent": {"icl": False},
                                              "compare": ["greedy", "sampled"]})
    args = parse_args(["eval", "--config", path, "--tasks", "2", "--agent", "react=false",
                       "--task-ids", "4,5", "6"])
    config = args.config_flags.build(args)
    assert (config.agent, config.tasks, config.compare) == ("tiny-random", 2, ["greedy", "sampled"])
    assert config.agent_options == {"icl": False, "react": False}
    assert config.task_ids == ["4", "5", "6"]


def test_loop_mapping_flags_merge_over_the_quickstart_defaults():
    config = _loop_config(parse_args(["iterate", "--agent", "top_p=0.8", "--sft", "--no-include-greedy"]))
    assert config.agent == {**QUICKSTART.agent, "top_p": 0.8}
    assert config.sft == {} and config.include_greedy is False and config.out == "runs/iterate"


def test_exponents_without_a_dot_are_floats_on_flags_and_in_config_files(tmp_path):
    # YAML 1.1 (PyYAML) reads `2e-4` as a string, which would reach the optimizer as one.
    config = _loop_config(parse_args(["iterate", "--train", "learning_rate=2e-4", "beta=1E-1"]))
    assert config.train["learning_rate"] == 2e-4 and config.train["beta"] == 0.1
    path = tmp_path / "loop.yaml"
    path.write_text("train:\n  learning_rate: 5e-5\n  lora_top_layers: 8\nagent:\n  top_p: .9\n")
    config = _loop_config(parse_args(["iterate", "--config", str(path)]))
    assert config.train["learning_rate"] == 5e-5 and isinstance(config.train["learning_rate"], float)
    assert config.train["lora_top_layers"] == 8 and config.agent["top_p"] == 0.9


@pytest.mark.parametrize("command", [p.prog.split(maxsplit=1)[1] for p in _leaf_parsers(build_parser("-"))])
def test_every_command_takes_a_config_file_and_rejects_an_unknown_key(command, tmp_path):
    path = write_yaml(tmp_path / "bad.yaml", {"no_such_option": 1})
    with pytest.raises(ConfigError) as err:
        parse_args([*command.split(), "--config", path])
    assert str(path) in str(err.value) and "`no_such_option`" in str(err.value)


def test_an_unknown_key_is_an_error_naming_file_and_key(tmp_path, capsys):
    path = write_yaml(tmp_path / "eval.yaml", {"taskz": 3})
    assert main(["eval", "--config", path]) == 2
    err = capsys.readouterr().err
    assert f"{path}: unknown key `taskz`" in err and "Did you mean `tasks`?" in err and "Traceback" not in err


def test_a_config_file_supplies_required_options_and_positionals(tmp_path):
    path = write_yaml(tmp_path / "pairs.yaml", {"trees": ["a.jsonl", "b.jsonl"], "out": "p.jsonl",
                                                "min_gap": 0.1})
    args = parse_args(["pairs", "--config", path, "--min-gap", "0.2"])
    assert (args.trees, args.out, args.min_gap) == (["a.jsonl", "b.jsonl"], "p.jsonl", 0.2)


def test_deprecated_spellings_warn_once_and_keep_working(caplog):
    with caplog.at_level(logging.WARNING, logger="agentsearch.cli"):
        args = parse_args(["eval", "--agent", "tiny-random", "--agent-opt", "icl=false", "--agent-opt",
                           "react=false"])
    config = args.config_flags.build(args)
    assert config.agent == "tiny-random" and config.agent_options == {"icl": False, "react": False}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("`--agent-opt` is deprecated; use `--agent`" in m for m in messages) == 1
    assert sum("`--agent MODEL` is deprecated" in m for m in messages) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="agentsearch.cli"):
        args = parse_args(["iterate", "--sft-steps", "3", "--sft-min-reward", "0.5"])
    assert _loop_config(args).sft == {"max_steps": 3, "min_reward": 0.5}
    assert len(caplog.records) == 2


def test_new_spellings_do_not_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="agentsearch.cli"):
        parse_args(["eval", "--model", "tiny-random", "--agent", "icl=false"])
        parse_args(["collect", "--model", "random", "--agent", "react=false"])
    assert caplog.records == []


def test_collect_runs_from_a_config_file_with_flags_over_it(tmp_path, capsys):
    out = tmp_path / "trees.jsonl"
    path = write_yaml(tmp_path / "collect.yaml", {
        "env": "webshop", "model": "random", "tasks": 5, "concurrency": 2, "out": str(out),
        "search": {"iterations": 2, "early_stop": False},
    })
    argv = ["collect", "--config", path, "--tasks", "2", "--search", "max_depth=3", "--no-progress"]
    assert main(argv) == 0
    trees = list(read_trees(out))
    assert len(trees) == 2  # --tasks 2 over the file's 5
    # The search options are the file's merged with the flag's, over the env's shipped ones.
    assert trees[0].config["iterations"] == 2 and trees[0].config["max_depth"] == 3
    assert trees[0].config["early_stop"] is False and trees[0].model == "random"


EXECUTOR_COMMANDS = ["collect", "eval", "demos", "iterate", "quickstart"]


@pytest.mark.parametrize("command", EXECUTOR_COMMANDS)
def test_a_wrong_executor_fails_at_parse_time_with_one_message_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--executor", "bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert (
        f"agentsearch {command}: error: argument --executor: invalid choice: 'bogus' "
        "(choose from 'local', 'ray')" in err
    )
    assert "--executor {local,ray}" in leaf(command).format_help()


@pytest.mark.parametrize("command", EXECUTOR_COMMANDS)
def test_executor_flags_build_the_commands_executor_settings(command):
    args = parse_args([command, "--executor", "ray", "--address", "auto", "--workers", "3"])
    if command in ("iterate", "quickstart"):
        config = _loop_config(args)
        built = ExecutorConfig(config.executor, config.address, config.workers)
    else:
        built = ConfigFlags(ExecutorConfig).build(args)
    assert built == ExecutorConfig("ray", "auto", 3)
    assert isinstance(_executor(parse_args([command])), LocalExecutor)  # no flag: this process


def test_executor_help_texts_of_collect_eval_and_demos_are_those_users_know():
    for command in ("collect", "eval", "demos"):
        options = leaf(command)._option_string_actions
        helps = {flag: options[flag].help for flag in ("--executor", "--address", "--workers")}
        assert helps == {
            "--executor": "local: this process; ray: Ray actors across the machines of a cluster "
            "(default: local)",
            "--address": "with --executor ray: the cluster, `auto` or HOST:PORT (default: a Ray instance of "
            "this machine)",
            "--workers": "with --executor ray: actors to start (default: one per CPU of the cluster)",
        }, command


# ---------------------------------------------------------------------------- trainer commands (TRL)
@pytest.fixture(scope="module")
def trainer_configs():
    from agentsearch.train.sft import StepSFTConfig
    from agentsearch.train.trainer import StepDPOConfig

    return {"train-q": StepDPOConfig, "train-sft": StepSFTConfig}


@pytest.mark.parametrize("command", ["train-q", "train-sft"])
def test_trainer_flags_are_the_trl_config_fields_with_their_defaults(command, trainer_configs):
    cls = trainer_configs[command]
    options = leaf(command)._option_string_actions
    for f in dataclasses.fields(cls):
        if f.init:
            assert f"--{f.name}" in options and f"--{f.name.replace('_', '-')}" in options, f.name
    args = parse_args([command, "data.jsonl", "--out", "out"])
    assert _trainer_config(cls, args) == cls(seed=0)  # the CLI's seed is train_q's / train_sft's: 0


def test_train_q_old_and_new_spellings_build_the_same_config(trainer_configs, caplog):
    cls = trainer_configs["train-q"]
    with caplog.at_level(logging.WARNING, logger="agentsearch.cli"):
        old = parse_args(["train-q", "p.jsonl", "--base", "tiny-random", "--out", "q", "--lr", "1e-4",
                          "--epochs", "3", "--full", "--batch-size", "2", "--loss-type", "sigmoid,ipo"])
    new = parse_args(["train-q", "p.jsonl", "--model", "tiny-random", "--out", "q", "--learning-rate", "1e-4",
                      "--num-train-epochs", "3", "--lora", "false", "--per-device-train-batch-size", "2",
                      "--loss-type", "sigmoid", "ipo"])
    assert old.model == new.model == "tiny-random"
    assert _trainer_config(cls, old) == _trainer_config(cls, new)
    config = _trainer_config(cls, new)
    assert (config.learning_rate, config.lora, config.loss_type) == (1e-4, False, ["sigmoid", "ipo"])
    assert len(caplog.records) == 5  # --base --lr --epochs --full --batch-size, once each


def test_trainer_help_shows_defaults():
    text = " ".join(leaf("train-q").format_help().split())
    assert "--learning_rate LEARNING_RATE, --learning-rate LEARNING_RATE AdamW learning rate" in text
    assert "1e-6). (default: 5e-05)" in text and "--seed SEED Random seed" in text
    assert "--config YAML" in text

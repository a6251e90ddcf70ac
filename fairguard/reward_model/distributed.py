"""Reward-model training over several processes (``torchrun`` / ``accelerate launch``, DDP).

A launcher starts one process per shard and sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``.
Every process builds the same rows (same seed) and takes its rows ``batch[rank::world]`` of
every global batch; gradients are averaged by ``DistributedDataParallel``. Validation is scored
on a shard per process and gathered, so every process computes the same metrics and keeps the
same best epoch. Rank 0 alone writes the artifact; the others wait at a barrier. Without a
launcher (``WORLD_SIZE`` unset or 1) nothing here changes the single-process run.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import signal
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Sequence

import numpy as np

from fairguard.errors import ConfigError, FairguardError
from fairguard.reward_model.inference import predict_probs, resolve_device

TIMEOUT_ENV = "FAIRGUARD_DIST_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 1800  # how long a process waits for the others in any collective or barrier

logger = logging.getLogger("fairguard.reward_model")


@dataclass(frozen=True)
class Processes:
    """This process's place in the run: one process (the default) or a DDP rank."""

    device: str = "cpu"
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False  # the process group was created here (and is destroyed here)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not an integer; start several processes with "
                          "torchrun or accelerate launch") from None


def _timeout() -> timedelta:
    value = os.environ.get(TIMEOUT_ENV, "")
    try:
        seconds = float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ConfigError(f"{TIMEOUT_ENV}={value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ConfigError(f"{TIMEOUT_ENV} must be > 0 seconds, got {value!r}")
    return timedelta(seconds=seconds)


def start_processes(device: str, batch_size: int) -> Processes:
    """Join the launcher's process group when ``WORLD_SIZE`` > 1, else return one process.

    Under a launcher the device is ``cuda:LOCAL_RANK`` (backend nccl) when ``device`` allows
    CUDA and it is available, else the CPU (backend gloo). A process group that already exists
    (a caller's own ``init_process_group`` or ``Accelerator``) is used as it is.
    """
    import torch
    import torch.distributed as dist

    owns = not (dist.is_available() and dist.is_initialized())
    world_size = _env_int("WORLD_SIZE", 1) if owns else dist.get_world_size()
    if world_size <= 1:
        return Processes(device=resolve_device(device))
    if batch_size < world_size:
        raise ConfigError(f"batch-size {batch_size} is smaller than the {world_size} processes; "
                          "each step's rows are split among the processes, so give --batch-size "
                          f"of at least {world_size}")
    if owns:
        if not dist.is_available():
            raise ConfigError("this torch build has no torch.distributed; run a single process")
        for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
            if not os.environ.get(name):
                raise ConfigError(f"WORLD_SIZE={world_size} is set but {name} is not; start the "
                                  "processes with torchrun or accelerate launch, which set both")
    local_rank = _env_int("LOCAL_RANK", 0)
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if device.startswith("cuda") and not use_cuda:
        raise ConfigError(f"device {device!r} asked for but CUDA is not available; use device: cpu")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPU(s) "
                              "are visible; start at most one process per GPU on each machine")
        torch.cuda.set_device(local_rank)
        device_name = f"cuda:{local_rank}"
    else:
        device_name = "cpu"
    if owns:
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=_timeout())
    _exit_on_sigterm()
    processes = Processes(device=device_name, rank=dist.get_rank(), world_size=dist.get_world_size(),
                          local_rank=local_rank, backend=str(dist.get_backend()), owns_group=owns)
    if not processes.is_main:  # rank 0 alone logs and reports
        from transformers.utils import logging as hf_logging

        logging.getLogger("fairguard").setLevel(logging.ERROR)
        hf_logging.set_verbosity_error()
    else:
        logger.info("training on %d processes (%s, rank 0 on %s)", processes.world_size,
                    processes.backend, device_name)
    return processes


def _is_peer_failure(exc: BaseException) -> bool:
    import torch.distributed as dist

    text = str(exc)
    return isinstance(exc, dist.DistError) or "gloo" in text or "closed by peer" in text


@contextlib.contextmanager
def peer_failures(processes: Processes) -> Iterator[None]:
    """Turn a collective that failed because another process stopped (or did not answer within
    the timeout) into a one-line :class:`FairguardError`; that process prints its own error."""
    try:
        yield
    except RuntimeError as exc:
        if not processes.distributed or not _is_peer_failure(exc):
            raise
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = re.sub(r"^\[[^\]]*\]\s*", "", text).split(". ")[0][:160]  # no gloo source path
        raise FairguardError(
            f"rank {processes.rank}: another process of this {processes.world_size}-process run "
            f"stopped, or did not answer within {_timeout().total_seconds():.0f} s "
            f"({TIMEOUT_ENV}): {reason}; that process's own error is printed above") from exc


def _exit_on_sigterm() -> None:
    """When the launcher stops this process (another one failed), unwind as on an error, so that
    a half-written temporary output folder is removed; kept if the caller set its own handler."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread
        pass


def finish(processes: Processes) -> None:
    """Wait for every process, then leave the process group if it was created here."""
    if not processes.distributed:
        return
    import torch.distributed as dist

    with peer_failures(processes):
        dist.barrier()
    if processes.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(processes: Processes, model: Any) -> Any:
    """``model`` in ``DistributedDataParallel`` under a launcher (gradients averaged), else itself."""
    if not processes.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [processes.local_rank] if processes.device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def shard_rows(processes: Processes, rows: Sequence[int]) -> tuple[list[int], float]:
    """This process's rows of a global batch (``rows[rank::world]``) and the weight of its loss.

    The weight ``world * len(mine) / len(rows)`` makes DDP's gradient average the row-weighted
    mean over processes. A process left with no rows (a short last batch) runs the first row with
    weight 0, so that it still joins the gradient all-reduce.
    """
    rows = list(rows)
    if not processes.distributed:
        return rows, 1.0
    mine = rows[processes.rank::processes.world_size]
    if not mine:
        return rows[:1], 0.0
    return mine, processes.world_size * len(mine) / len(rows)


def mean_over_processes(processes: Processes, value: float) -> float:
    """The mean of ``value`` over the processes (``value`` itself for one process)."""
    if not processes.distributed:
        return value
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64, device=processes.device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / processes.world_size


def gather(processes: Processes, obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order, on every process."""
    if not processes.distributed:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * processes.world_size
    dist.all_gather_object(out, obj)
    return out


def predict_probs_sharded(processes: Processes | None, model: Any, tokenizer: Any,
                          prompts: Sequence[str], responses: Sequence[str], max_length: int,
                          batch_size: int, device: str, progress: bool = False,
                          desc: str = "scoring") -> np.ndarray:
    """:func:`predict_probs` of every pair; under a launcher each process scores pairs
    ``rank::world`` and the parts are gathered, so every process holds the same array."""
    if processes is None or not processes.distributed:
        return predict_probs(model, tokenizer, prompts, responses, max_length, batch_size, device,
                             progress=progress, desc=desc)
    r, w = processes.rank, processes.world_size
    part = predict_probs(model, tokenizer, list(prompts[r::w]), list(responses[r::w]), max_length,
                         batch_size, device, progress=progress and processes.is_main, desc=desc)
    out = np.zeros((len(prompts), model.config.num_labels), dtype=np.float64)
    for rank, probs in enumerate(gather(processes, part)):
        out[rank::w] = probs
    return out


def parameters_digest(model: Any) -> str:
    """sha256 over every parameter (name and float32 values), in name order."""
    import torch

    digest = hashlib.sha256()
    for name, param in sorted(model.named_parameters()):
        digest.update(name.encode())
        digest.update(param.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def processes_report(processes: Processes, model: Any) -> dict[str, Any]:
    """``{"distributed": {...}}`` for metrics.json (every rank's weight digest); ``{}`` for one process.

    Every process must call it (the digests are gathered).
    """
    if not processes.distributed:
        return {}
    digests = gather(processes, parameters_digest(model))
    if len(set(digests)) != 1:
        logger.warning("the processes ended with different weights (%s); rank 0's are saved",
                       ", ".join(d[:12] for d in digests))
    return {"distributed": {"num_processes": processes.world_size, "backend": processes.backend,
                            "parameters_sha256_by_rank": digests}}

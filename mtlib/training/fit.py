"""Training: :func:`fit` trains one :class:`~mtlib.config.RunConfig` and scores it.

Procedure
---------
- Data: ``open_cache(config.dataset, config.sample_rate)``; train / valid / test rows from
  ``config.split`` (see :func:`mtlib.data.datasets.build_views`).
- Optimiser: SGD with momentum (optionally Nesterov), learning rate ``config.lr``; batches of
  ``config.batch_clips`` clips (Dieleman: x10 subclips; SampleCNN: one random crop per clip);
  loss = binary cross-entropy (plus, with ``config.tag_embedding``, the weighted cosine loss
  of :mod:`mtlib.models.tag_embedding` on the training split's tag space). Optional
  ReduceLROnPlateau on validation ROC-AUC: the rate is divided by 5 once
  ``config.plateau_epochs`` epochs brought no improvement.
- Clip predictions. A clip's prediction is the mean of the *sigmoid outputs* of its units:
  its 10 subclips (Dieleman), or its segments (SampleCNN, ``config.segments``). The
  ``config.loss`` "clip" trains on that prediction (the report, Sec. IV); "unit" gives every
  subclip its clip's labels and averages the BCE over units, tags and clips.
- Per epoch: training loss (mean over the epoch's steps, weighted by clips), validation
  ROC-AUC and PR-AUC, and training ROC-AUC on a *fixed* subset of ``config.train_eval_clips``
  training clips scored in eval mode exactly like validation (so train and validation AUC are
  comparable and not blurred by dropout or by the model changing during the epoch; with
  ``train_eval_clips = 0`` the column is empty). The best validation ROC-AUC epoch is kept
  and scored on the test split at the end.
- Determinism: the initial weights come from ``torch.manual_seed(config.seed)``; the batch
  order of epoch ``e`` from ``numpy.random.default_rng([seed, e])``; SampleCNN crops from
  ``default_rng([seed, e, row])``; dropout from torch's RNG, whose state is checkpointed. On
  CPU deterministic algorithms are enforced, so the same config gives identical metrics, and
  a resumed run ends exactly like an uninterrupted one. Nothing in training depends on
  ``config.epochs`` but where it stops, so a run that differs from a finished run only in more
  epochs continues from that run's last checkpoint (the run store offers it as the resume
  point; ``metrics["extends"]`` names it) and ends as if trained from scratch. On CUDA cuDNN
  autotuning is on (faster, reproducible only up to floating-point reordering).
- Divergence: a non-finite loss raises :class:`TrainingDiverged` and the run is recorded as
  failed.

Storage: :func:`fit` writes no file. It reports the start, every epoch (with a checkpoint)
and the result to a :class:`TrainingSink`, and asks it where to resume from. The run store
(:meth:`mtlib.training.runs.RunStore.get_or_run`) passes a
:class:`mtlib.training.rundir.RunFolder`; without a sink the run is trained in memory.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Iterator, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn

from mtlib.config import RunConfig
from mtlib.data.datasets import (
    DataViews,
    build_views,
    eval_batch_clips,
    iterate_batches,
)
from mtlib.errors import MtlibError
from mtlib.models import build_model, count_parameters
from mtlib.models.layers import init_output_prior
from mtlib.progress import log, tqdm
from mtlib.training.metrics import evaluate
from mtlib.training.rundir import HISTORY_COLUMNS, RunResult, versions

CHECKPOINT_FORMAT = 1
PLATEAU_FACTOR = 0.2  # the report and Lee et al.: the learning rate is divided by 5
LOSS_CHECK_EVERY = 16  # steps between finiteness checks (each check syncs a GPU)


class TrainingSink(Protocol):
    """Where :func:`fit` reports a run (see :class:`mtlib.training.rundir.RunFolder`)."""

    def started(self, config: RunConfig) -> None: ...

    def resume_point(self, config: RunConfig) -> dict[str, Any] | None:
        """A checkpoint of ``config`` written by an earlier ``epoch_end``, or None."""

    def epoch_end(self, row: dict[str, Any], history: list[dict[str, Any]],
                  checkpoint: dict[str, Any], best: dict[str, Any] | None) -> None:
        """After each epoch: its history row, all rows so far, the resume checkpoint, and the
        best-epoch payload when this epoch improved validation ROC-AUC (else None)."""

    def finished(self, result: RunResult, best: dict[str, Any]) -> RunResult: ...

    def failed(self, error: BaseException) -> None: ...


class TrainingDiverged(MtlibError):
    """The training loss became NaN or infinite in ``epoch``; ``last_finite_loss`` is the
    mean training loss of the epoch before (NaN in the first epoch)."""

    def __init__(self, message: str, epoch: int = 0,
                 last_finite_loss: float = float("nan")) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.last_finite_loss = last_finite_loss


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> cuda if available, else cpu; a cuda request without CUDA is an error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise MtlibError(f"device {device!r} requested but CUDA is not available")
    return dev


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"


@contextlib.contextmanager
def _determinism(device: torch.device) -> Iterator[None]:
    """Deterministic kernels on CPU, autotuned cuDNN on CUDA; restores the previous settings.

    Deterministic mode would also fill every new tensor with NaN before use, a guard for
    kernels that read memory they never wrote; that cost 8 % of a shallow CNN's step and
    changes no result, so it is off.
    """
    fill = torch.utils.deterministic
    previous = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
        fill.fill_uninitialized_memory,
    )
    try:
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True)
            fill.fill_uninitialized_memory = False
        else:
            torch.backends.cudnn.benchmark = True
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
        torch.backends.cudnn.benchmark = previous[2]
        fill.fill_uninitialized_memory = previous[3]


def _autocast(device: torch.device, amp: bool):
    """bf16 autocast when ``amp``, on CUDA and on CPU alike (oneDNN's bf16 kernels halve
    SampleCNN's time on a CPU with AVX-512 BF16; see the quick profile)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp)


def epoch_batches(n: int, batch: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Shuffled position batches of one epoch, from ``default_rng([seed, epoch])``.

    The last, smaller batch is kept unless it would hold a single clip (batch norm needs
    more than one value per channel; SampleCNN's last layer has one time step).
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    batches = [order[i : i + batch] for i in range(0, n, batch)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches.pop()
    return batches


def unit_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-unit BCE: logits ``[B, units, T]``, clip targets ``[B, T]`` broadcast to each unit."""
    return nn.functional.binary_cross_entropy_with_logits(
        logits.float(), targets[:, None, :].expand(logits.shape)
    )


def clip_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BCE of the clip prediction ``p = mean over units of sigmoid(logits)``: logits
    ``[B, units, T]``, targets ``[B, T]``.

    Computed in log space, ``log p = logmeanexp(logsigmoid(l))`` and
    ``log(1 - p) = logmeanexp(logsigmoid(-l))``, so saturated units give finite gradients.
    """
    logits = logits.float()
    n = math.log(logits.shape[1])
    log_p = torch.logsumexp(nn.functional.logsigmoid(logits), dim=1) - n
    log_q = torch.logsumexp(nn.functional.logsigmoid(-logits), dim=1) - n
    return -(targets * log_p + (1.0 - targets) * log_q).mean()


LOSSES = {"unit": unit_loss, "clip": clip_loss}


def training_loss(model: nn.Module, config: RunConfig, x: torch.Tensor, y: torch.Tensor,
                  device: torch.device) -> torch.Tensor:
    """A batch's training loss: ``config.loss`` (BCE) on ``x [B, units, 1, n]`` against
    ``y [B, T]``, plus ``config.tag_embedding`` times the label-embedding loss of
    :mod:`mtlib.models.tag_embedding` when the model carries one."""
    embedding = getattr(model, "tag_embedding", None)
    with _autocast(device, config.amp):
        features = model.embed(x) if embedding is not None else None
        logits = model(x) if features is None else model.classify(features)
    loss = LOSSES[config.loss](logits, y)
    if embedding is not None:
        loss = loss + config.tag_embedding * embedding.loss(features, y)
    return loss


@torch.no_grad()
def predict(
    model: nn.Module, view, device: torch.device, amp: bool = False, progress: bool = False
) -> np.ndarray:
    """Clip probabilities ``[n_clips, T]`` (float32): mean sigmoid over each clip's units."""
    was_training = model.training
    model.eval()
    per_batch = eval_batch_clips(view, device)
    batches = [np.arange(i, min(i + per_batch, len(view))) for i in range(0, len(view), per_batch)]
    out = np.empty((len(view), view.n_tags), dtype=np.float32)
    prefetch = device.type == "cuda" and not view.source.resident
    bar = tqdm(total=len(view), desc="eval", unit="clip", leave=False, disable=not progress)
    with bar:
        loader = iterate_batches(view, batches, prefetch=prefetch)
        for b, (x, _) in zip(batches, loader, strict=True):
            with _autocast(device, amp):
                logits = model(x)
            out[b] = torch.sigmoid(logits.float()).mean(1).cpu().numpy()
            bar.update(len(b))
    model.train(was_training)
    return out


def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        with contextlib.suppress(RuntimeError, IndexError):  # fewer GPUs than when saved
            torch.cuda.set_rng_state_all(state["cuda"])


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


class _Trainer:
    """One run's mutable state; :func:`fit` drives it."""

    def __init__(self, config: RunConfig, views: DataViews, device: torch.device) -> None:
        self.config = config
        self.views = views
        self.device = device
        torch.manual_seed(config.seed)
        model = build_model(config, len(views.tags), views.source.clip_samples)
        if config.output_prior:
            init_output_prior(model.output_layer(), views.n_train_pos, len(views.train))
        if config.tag_embedding > 0:
            model.tag_embedding.set_tags(views.train.labels)
        self.model = model.to(device)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=config.lr, momentum=config.momentum,
            nesterov=config.nesterov,
        )
        self.scheduler = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                # PyTorch cuts once more than ``patience`` epochs brought no improvement.
                self.optimizer, mode="max", factor=PLATEAU_FACTOR,
                patience=config.plateau_epochs - 1,
            )
            if config.plateau
            else None
        )
        self.epoch = 0  # completed epochs
        self.history: list[dict[str, Any]] = []
        self.best_epoch = 0
        self.best_val = -math.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.extends: str | None = None  # run id of the shorter run this one continues

    # --- checkpoints ----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "run_id": self.config.run_id,
            "epoch": self.epoch,
            "model": _cpu_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "rng": _rng_state(),
            "history": self.history,
            "best": {"epoch": self.best_epoch, "val_roc_auc": self.best_val,
                     "model": self.best_state},
            "extends": self.extends,
        }

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        elif self.scheduler is not None:
            # A shorter run without a scheduler is the same run (RunConfig.identity): its
            # lr never changed, so replaying its validation scores restores the state exactly.
            for row in ckpt["history"]:
                self.scheduler.step(row["val_roc_auc"])
        _set_rng_state(ckpt["rng"])
        self.epoch = int(ckpt["epoch"])
        self.history = list(ckpt["history"])
        self.best_epoch = int(ckpt["best"]["epoch"])
        self.best_val = float(ckpt["best"]["val_roc_auc"])
        self.best_state = ckpt["best"]["model"]
        self.extends = ckpt.get("extends")

    # --- one epoch ------------------------------------------------------------------------
    def train_epoch(self, progress: bool) -> float:
        cfg, view, epoch = self.config, self.views.train, self.epoch + 1
        batches = epoch_batches(len(view), cfg.batch_clips, cfg.seed, epoch)
        prefetch = self.device.type == "cuda" and not view.source.resident
        self.model.train()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        seen = 0
        bar = tqdm(
            total=len(batches), desc=f"{cfg.run_id} epoch {epoch}/{cfg.epochs}", unit="step",
            leave=False, disable=not progress,
        )
        with bar:
            for step, (x, y) in enumerate(iterate_batches(view, batches, epoch, prefetch), 1):
                loss = self.loss(x, y)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += loss.detach().double() * len(y)
                seen += len(y)
                if step % LOSS_CHECK_EVERY == 0 or step == len(batches):
                    mean = total.item() / seen
                    self._check_finite(mean, epoch, step)
                    bar.set_postfix(loss=f"{mean:.4f}")
                bar.update(1)
        return total.item() / max(seen, 1)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return training_loss(self.model, self.config, x, y, self.device)

    def _check_finite(self, loss: float, epoch: int, step: int) -> None:
        if not math.isfinite(loss):
            lr = self.optimizer.param_groups[0]["lr"]
            last = self.history[-1]["train_loss"] if self.history else float("nan")
            raise TrainingDiverged(
                f"run {self.config.run_id}: training loss became {loss} in epoch {epoch} "
                f"(by step {step}, lr={lr:g}); lower the learning rate",
                epoch=epoch, last_finite_loss=float(last),
            )

    def validate(self, progress: bool) -> dict[str, Any]:
        views, cfg = self.views, self.config
        val = evaluate(
            views.valid.labels, predict(self.model, views.valid, self.device, cfg.amp, progress),
            views.tags,
        )
        train_auc = float("nan")
        if cfg.train_eval_clips > 0:
            tr = views.train_eval
            train_auc = evaluate(
                tr.labels, predict(self.model, tr, self.device, cfg.amp, progress), views.tags
            )["roc_auc"]
        return {"val": val, "train_roc_auc": train_auc}


def _usable(ckpt: dict[str, Any] | None, config: RunConfig) -> bool:
    return (ckpt is not None and ckpt.get("format") == CHECKPOINT_FORMAT
            and ckpt.get("run_id") == config.run_id)


def fit(
    config: RunConfig,
    sink: TrainingSink | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
) -> RunResult:
    """Train ``config`` and score its best-validation epoch on the test split.

    Args:
        config: the run.
        sink: receives the run's start, epochs, result or failure, and says where to resume
            (see :class:`TrainingSink`); None trains in memory.
        progress: show progress bars and log each epoch.
        device: "cpu", "cuda", "cuda:1", or None for cuda-if-available.

    Returns the :class:`~mtlib.training.rundir.RunResult`. Besides the contract's keys its
    metrics hold test_per_clip_roc_auc, val_pr_auc (best epoch), n_params, n_clips (per
    split), and what scoring new audio needs: tags, clip_samples and input_norm (kind,
    scope, and the dataset-scope shift/scale in float units); the best-epoch payload carries
    the same three.
    Raises :class:`TrainingDiverged` on a non-finite loss; any exception is reported to the
    sink as a failure (a later call retries the run).
    """
    dev = resolve_device(device)
    if sink is not None:
        sink.started(config)
    try:
        with _determinism(dev):
            return _fit(config, sink, progress, dev)
    except BaseException as err:
        if sink is not None:
            sink.failed(err)
        raise


def _fit(config: RunConfig, sink: TrainingSink | None, progress: bool,
         device: torch.device) -> RunResult:
    from mtlib.data.cache import open_cache

    cache = open_cache(config.dataset, config.sample_rate)
    views = build_views(cache, config, device)
    trainer = _Trainer(config, views, device)
    ckpt = sink.resume_point(config) if sink is not None else None
    if _usable(ckpt, config):
        trainer.restore(ckpt)
        if progress:
            log(f"run {config.run_id}: resuming after epoch {trainer.epoch}")

    while trainer.epoch < config.epochs:
        start = time.perf_counter()
        lr = trainer.optimizer.param_groups[0]["lr"]
        train_loss = trainer.train_epoch(progress)
        scores = trainer.validate(progress)
        val = scores["val"]
        if trainer.scheduler is not None:
            trainer.scheduler.step(val["roc_auc"])
        trainer.epoch += 1
        row = {
            "epoch": trainer.epoch,
            "train_loss": float(train_loss),
            "train_roc_auc": float(scores["train_roc_auc"]),
            "val_roc_auc": float(val["roc_auc"]),
            "val_pr_auc": float(val["pr_auc"]),
            "lr": float(lr),
            "seconds": float(time.perf_counter() - start),
        }
        trainer.history.append(row)
        improved = val["roc_auc"] > trainer.best_val
        if improved:
            trainer.best_val = float(val["roc_auc"])
            trainer.best_epoch = trainer.epoch
            trainer.best_state = _cpu_state(trainer.model)
        if progress:
            log(f"run {config.run_id} epoch {trainer.epoch}/{config.epochs}: "
                f"loss {row['train_loss']:.4f}  train AUC {row['train_roc_auc']:.4f}  "
                f"val AUC {row['val_roc_auc']:.4f}  PR {row['val_pr_auc']:.4f}  "
                f"({row['seconds']:.1f} s)")
        if sink is not None:
            sink.epoch_end(row, list(trainer.history), trainer.state(),
                           _best_payload(trainer) if improved else None)

    result, best = _finish(trainer, progress)
    return sink.finished(result, best) if sink is not None else result


def _best_payload(trainer: _Trainer) -> dict[str, Any]:
    """The best epoch's weights with what scoring new audio needs (``best.pt``)."""
    return {
        "run_id": trainer.config.run_id, "epoch": trainer.best_epoch,
        "val_roc_auc": trainer.best_val, "model": trainer.best_state,
        "config": trainer.config.to_dict(), **_model_inputs(trainer.views),
    }


def _model_inputs(views: DataViews) -> dict[str, Any]:
    """What scoring new audio with the weights needs besides the config."""
    norm = views.train.norm
    return {
        "tags": list(views.tags),
        "clip_samples": int(views.source.clip_samples),
        "input_norm": {"kind": norm.kind, "scope": norm.scope, "shift": float(norm.shift),
                       "scale": float(norm.scale)},
    }


def _finish(trainer: _Trainer, progress: bool) -> tuple[RunResult, dict[str, Any]]:
    """Score the best epoch on the test split: the result and the best-epoch payload."""
    config, views, device = trainer.config, trainer.views, trainer.device
    trainer.model.load_state_dict(trainer.best_state)
    y_score = predict(trainer.model, views.test, device, config.amp, progress)
    test = evaluate(views.test.labels, y_score, views.tags, n_train_pos=views.n_train_pos)
    per_tag = {
        tag: {
            "roc_auc": None if math.isnan(r.roc_auc) else float(r.roc_auc),
            "pr_auc": None if math.isnan(r.pr_auc) else float(r.pr_auc),
            "n_train_pos": int(r.n_train_pos),
            "n_test_pos": int(r.n_pos),
        }
        for tag, r in test["per_tag"].iterrows()
    }
    best_row = trainer.history[trainer.best_epoch - 1]
    metrics = {
        "test_roc_auc": test["roc_auc"],
        "test_pr_auc": test["pr_auc"],
        "test_per_clip_roc_auc": test["per_clip_roc_auc"],
        "val_roc_auc": trainer.best_val,
        "val_pr_auc": best_row["val_pr_auc"],
        "best_epoch": trainer.best_epoch,
        "per_tag": per_tag,
        "excluded_tags": test["excluded_tags"],
        "seed": config.seed,
        "device": device_name(device),
        "versions": versions(),
        "train_seconds": float(sum(r["seconds"] for r in trainer.history)),
        "epochs_run": trainer.epoch,
        "extends": trainer.extends,
        "n_params": count_parameters(trainer.model),
        "n_clips": {
            "train": len(views.train), "valid": len(views.valid), "test": len(views.test),
            "train_eval": len(views.train_eval) if config.train_eval_clips > 0 else 0,
        },
        **_model_inputs(views),
    }
    history = pd.DataFrame(trainer.history, columns=HISTORY_COLUMNS)
    predictions = (views.clip_ids["test"], views.test.labels.astype(np.uint8), y_score,
                   list(views.tags))
    result = RunResult(config.run_id, config, None, metrics, history, _predictions=predictions)
    return result, _best_payload(trainer)

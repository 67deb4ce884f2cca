"""Run every benchmark (``benchmarks/bench_*.py``) and print one Markdown table of its figures.

Each benchmark module exposes ``main() -> dict`` and writes ``results/bench/<name>.json``
itself (with :func:`write_result`). This runner calls them one after another (so they never
compete for the machine), then writes ``results/bench/summary.json`` and ``summary.md`` and
prints one table of every benchmark's figures with the machine each was measured on:
benchmarks not run this time appear with their last stored figures.

Usage::

    python benchmarks/run_all.py                  # all benchmarks
    python benchmarks/run_all.py decode training  # only bench_decode.py and bench_training.py
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from mtlib import paths
from mtlib.io import atomic_write_json, atomic_write_text

BENCH_DIR = Path(__file__).resolve().parent
# bench_end_to_end projects from bench_training's figures: run it after the others.
RUN_LAST = ("end_to_end",)


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, load and GPU of this machine (where a figure was measured).

    ``load_average_1min`` is taken when the figures are written: on a shared machine, other
    processes' load explains slow absolute rates.
    """
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": _memory_gb(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpu": None,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["gpu_count"] = torch.cuda.device_count()
    except ImportError:
        pass
    return info


def machine_label(info: dict[str, Any]) -> str:
    """Short one-line description for tables: "AMD EPYC, 2 cores (load 1.2); GPU: none"."""
    cores = info.get("usable_cores") or info.get("cores")
    gpu = info.get("gpu") or "none"
    if info.get("gpu_count", 1) > 1:
        gpu = f"{info['gpu_count']}x {gpu}"
    load = info.get("load_average_1min")
    load_text = f" (load {load:g})" if load is not None else ""
    return f"{info.get('cpu', '?')}, {cores} cores{load_text}; GPU: {gpu}"


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Write ``results/bench/<name>.json`` with the figures and the machine; return the path."""
    out = paths.bench_dir() / f"{name}.json"
    payload = dict(figures)
    payload.setdefault("machine", machine_info())
    payload.setdefault("measured_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    atomic_write_json(out, payload)
    return out


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def discover(names: list[str] | None = None) -> list[Path]:
    """``bench_*.py`` files beside this script, optionally only the given short names.

    Alphabetical, except that benchmarks in ``RUN_LAST`` (which read the others' results)
    come at the end.
    """
    found = sorted(BENCH_DIR.glob("bench_*.py"),
                   key=lambda p: (p.stem.removeprefix("bench_") in RUN_LAST, p.stem))
    if not names:
        return found
    by_name = {p.stem.removeprefix("bench_"): p for p in found}
    unknown = [n for n in names if n.removeprefix("bench_") not in by_name]
    if unknown:
        raise SystemExit(f"unknown benchmark(s) {unknown}; valid: {', '.join(sorted(by_name))}")
    wanted = {n.removeprefix("bench_") for n in names}
    return [p for p in found if p.stem.removeprefix("bench_") in wanted]


def run_one(path: Path) -> dict[str, Any]:
    """Import ``path`` as a module and return its ``main()``'s figures (plus wall seconds)."""
    # Importable by name (benchmarks dir on sys.path): benchmarks import helpers from this
    # file, and spawn-started worker processes must find the benchmark's functions.
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    module = importlib.import_module(path.stem)
    start = time.perf_counter()
    figures = module.main()
    if not isinstance(figures, dict):
        raise TypeError(f"{path.name}: main() returned {type(figures).__name__}, expected dict")
    figures = dict(figures)
    figures["benchmark_wall_seconds"] = round(time.perf_counter() - start, 2)
    return figures


def flatten(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar figures as (dotted.key, value) rows; the machine block and lists are left out."""
    rows: list[tuple[str, Any]] = []
    for key, value in figures.items():
        if key == "machine" and not prefix:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten(value, prefix=f"{name}."))
        elif isinstance(value, (int, float, str, bool)) or value is None:
            rows.append((name, value))
    return rows


def markdown_table(results: dict[str, dict[str, Any]], default_machine: dict[str, Any]) -> str:
    lines = ["| benchmark | figure | value | machine |", "|---|---|---|---|"]
    for bench, figures in results.items():
        machine = machine_label(figures.get("machine") or default_machine)
        for key, value in flatten(figures):
            lines.append(f"| {bench} | {key} | {_fmt(value)} | {machine} |")
    return "\n".join(lines) + "\n"


def _stored(name: str) -> dict[str, Any] | None:
    path = paths.bench_dir() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="short names (decode, training, ...); default all")
    args = parser.parse_args(argv)

    machine = machine_info()
    fresh: dict[str, dict[str, Any]] = {}
    failed = []
    for path in discover(args.names):
        name = path.stem.removeprefix("bench_")
        print(f"== {path.name}", flush=True)
        try:
            fresh[name] = run_one(path)
        except Exception as err:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            fresh[name] = {"error": f"{type(err).__name__}: {err}"}
            failed.append(name)
        fresh[name].setdefault("machine", machine)

    # The table covers every benchmark: figures measured now, and for the others their last
    # results/bench/<name>.json (with the machine and time they were measured on).
    results: dict[str, dict[str, Any]] = {}
    for path in discover():
        name = path.stem.removeprefix("bench_")
        if name in fresh:
            results[name] = fresh[name]
        elif (stored := _stored(name)) is not None:
            results[name] = stored
    table = markdown_table(results, machine)
    atomic_write_json(paths.bench_dir() / "summary.json", {"machine": machine, "results": results})
    atomic_write_text(paths.bench_dir() / "summary.md", table)
    print()
    print(table)
    print(f"machine: {machine_label(machine)}; figures in {paths.bench_dir()}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The GPU-busy benchmark's arithmetic (the measurement itself needs CUDA)."""

from __future__ import annotations

import json
import sys

import pytest
import torch
from torch.autograd import DeviceType

from mtlib import paths

sys.path.insert(0, str(paths.repo_root() / "benchmarks"))
import bench_gpu_busy as bench  # noqa: E402


def test_busy_fraction_counts_overlaps_once_and_clips_to_the_window():
    assert bench.busy_fraction([], 0, 10) == 0.0
    assert bench.busy_fraction([(0, 10)], 0, 10) == 1.0
    # two streams overlapping on [2, 4]; a kernel half outside the window; one fully outside
    intervals = [(1, 4), (2, 5), (8, 12), (20, 30)]
    assert bench.busy_fraction(intervals, 0, 10) == pytest.approx((5 - 1 + 10 - 8) / 10)
    assert bench.busy_fraction([(3, 3), (5, 4)], 0, 10) == 0.0  # empty intervals
    assert bench.busy_fraction([(0, 1)], 5, 5) == 0.0  # empty window


class _Event:
    def __init__(self, name, device, start, end):
        self._args = (name, device, start, end)

    def name(self):
        return self._args[0]

    def device_type(self):
        return self._args[1]

    def start_ns(self):
        return self._args[2]

    def end_ns(self):
        return self._args[3]


def test_device_intervals_split_kernels_from_copies_and_find_the_window():
    events = [
        _Event("aten::conv1d", DeviceType.CPU, 0, 50),
        _Event(bench.WINDOW, DeviceType.CPU, 10, 110),
        _Event("void cudnn::conv_kernel", DeviceType.CUDA, 20, 60),
        _Event("Memcpy HtoD (Pinned -> Device)", DeviceType.CUDA, 60, 70),
        _Event("Memset (Device)", DeviceType.CUDA, 70, 71),
        _Event("sgemm", DeviceType.CUDA, 75, 100),
    ]
    window, kernels, copies = bench.device_intervals(events)
    assert window == (10.0, 110.0)
    assert kernels == [(20.0, 60.0), (75.0, 100.0)]
    assert copies == [(60.0, 70.0), (70.0, 71.0)]
    assert bench.busy_fraction(kernels, *window) == pytest.approx(0.65)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_without_cuda_the_benchmark_records_that_it_needs_a_gpu(capsys):
    figures = bench.main()
    assert figures == {"skipped": "no CUDA device: this figure needs a GPU"}
    stored = json.loads((paths.bench_dir() / "gpu_busy.json").read_text())
    assert stored["skipped"] == figures["skipped"] and stored["machine"]["gpu"] is None
    assert "needs a GPU" in capsys.readouterr().out


def test_device_intervals_reads_this_torch_profilers_raw_events():
    # The same profiler calls as on CUDA, with CPU activity only: the window is found.
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with record_function(bench.WINDOW):
            torch.ones(64, 64) @ torch.ones(64, 64)
    window, kernels, copies = bench.device_intervals(prof.profiler.kineto_results.events())
    assert window is not None and window[1] > window[0]
    assert kernels == [] and copies == []


def test_profiled_training_runs_on_both_data_paths_without_a_gpu():
    from helpers_train import write_learnable_cache

    cache = write_learnable_cache("busy", 12000, clip_samples=25_600, clips_per_folder=2)
    for resident in (True, False):
        result = bench.profile_path("busy", cache, resident=resident, epochs=1, device="cpu")
        assert result == {"skipped": "the profiler recorded no GPU kernels"}

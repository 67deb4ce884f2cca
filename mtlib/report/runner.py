"""``mtlib report``: build the whole reproducibility report for one profile.

1. Ensure the profile's dataset (:func:`mtlib.report.profile_data.ensure_dataset`).
2. Execute ``notebooks/NN_*.ipynb`` in the pipeline's order (each after the notebooks it
   reads, :mod:`mtlib.report.products`) with papermill (kernel ``python3``) into
   ``results/executed/NN_slug.ipynb``. Each notebook gets one parameter, ``profile``: the
   resolved profile (the YAML with ``--executor`` and ``--data-root`` applied) as a mapping,
   which :func:`mtlib.report.profiles.resolve` reads in its first code cell. Its progress
   bars, log lines and warnings go to ``results/logs/NN_slug.log`` (:mod:`mtlib.progress`),
   so the executed notebook shows results only.
3. Record wall times in ``results/report/timings.json``.
4. Build the offline report site from the executed notebooks (:func:`mtlib.report.site.build_site`):
   ``results/report/index.html`` (claims, headline numbers, deviations) and one
   ``results/report/NN_slug.html`` per notebook. ``mtlib report --site-only`` does only this.

A notebook executes into a temporary file that is renamed when it succeeds. A failing
notebook stops the run with one message naming it and the failing cell's error; its partial
output is kept as ``results/executed/NN_slug.failed.ipynb`` and everything that finished
before it stays; the site is built from what finished, and if that fails too, the
notebook's error is still the one the run stops with. Training is cached in the run store,
so a rerun retrains nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from mtlib import paths
from mtlib.errors import MtlibError
from mtlib.io import atomic_write_json
from mtlib.progress import LOG_ENV
from mtlib.report import products, site
from mtlib.report.artifacts import artifact_path
from mtlib.report.profiles import Profile, available, load_profile

KERNEL = "python3"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
TIMINGS_FILE = "timings.json"


class NotebookFailed(MtlibError):
    """A notebook raised; the message names it, the cell and the error."""


@dataclass(frozen=True)
class Steps:
    """What a report run does besides ordering and timing: ``ensure_dataset(profile,
    progress)``, ``execute(notebook, params, kernel, progress) -> seconds`` and
    ``build_site(profile_name, data_root=...)``. The defaults are the real ones; a test or
    another front end passes its own."""

    ensure_dataset: Callable[..., Any] | None = None
    execute: Callable[..., float] | None = None
    build_site: Callable[..., Any] | None = None

    def resolved(self) -> Steps:
        from mtlib.report.profile_data import ensure_dataset

        return Steps(self.ensure_dataset or ensure_dataset, self.execute or execute,
                     self.build_site or site.build_site)


@dataclass
class ReportResult:
    profile: str
    seconds: dict[str, float] = field(default_factory=dict)  # slug -> wall time
    dataset_seconds: float = 0.0


# --- notebooks --------------------------------------------------------------------------


def run_order(found: Sequence[Path]) -> list[Path]:
    """Notebooks each after the notebooks whose artifacts it reads
    (:func:`mtlib.report.products.run_order`)."""
    by_stem = {p.stem: p for p in found}
    return [by_stem[stem] for stem in products.run_order(by_stem)]


def notebooks(folder: Path | None = None) -> list[Path]:
    """The report's notebooks ``NN_slug.ipynb``, in :func:`run_order`."""
    folder = folder or paths.notebooks_dir()
    found = run_order(folder.glob(NOTEBOOK_GLOB))
    if not found:
        raise MtlibError(f"{folder}: no notebooks named NN_slug.ipynb")
    return found


def select(found: Sequence[Path], only: Sequence[str] | None,
           profile: str | None = None) -> list[Path]:
    """Keep the notebooks named by ``only`` (``"03"`` or ``"03_length_stride_table"``), and
    add each prerequisite (:func:`mtlib.report.products.prerequisites`) whose artifact for
    ``profile`` is missing, so the selection can run."""
    if not only:
        return list(found)
    chosen = []
    for want in only:
        match = [p for p in found if p.stem == want or p.stem[:2] == want.zfill(2)]
        if not match:
            valid = ", ".join(p.stem for p in found)
            raise MtlibError(f"no notebook {want!r}; valid: {valid}")
        chosen += [p for p in match if p not in chosen]
    if profile is not None:
        by_stem = {p.stem: p for p in found}
        for nb in list(chosen):
            for pre in products.prerequisites(nb.stem):
                artifact = products.PRODUCTS[pre].artifact
                missing = artifact and not artifact_path(artifact, profile).is_file()
                if missing and pre in by_stem and by_stem[pre] not in chosen:
                    chosen.append(by_stem[pre])
    return run_order(chosen)


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell."""
    import papermill

    return set(papermill.inspect_notebook(str(notebook)))


def parameters_for(notebook: Path, profile: Profile) -> dict:
    """The papermill parameters of ``notebook``: ``profile``, the resolved profile (flat,
    plain values), whatever the notebook declares. It is the one way the profile, the CLI's
    overrides included, reaches a kernel (see :func:`mtlib.report.profiles.resolve`)."""
    if "profile" not in declared_parameters(notebook):
        raise MtlibError(f"{notebook}: its parameters cell does not assign 'profile'")
    return {"profile": profile.to_flat()}


def executed_path(notebook: Path) -> Path:
    return paths.executed_dir() / notebook.name


def failed_path(notebook: Path) -> Path:
    return paths.executed_dir() / f"{notebook.stem}.failed.ipynb"


def html_path(notebook: Path) -> Path:
    return paths.report_dir() / f"{notebook.stem}.html"


def execute(notebook: Path, params: dict, kernel: str = KERNEL, progress: bool = True) -> float:
    """Run ``notebook`` with papermill; return its wall time in seconds.

    The kernel's bars, log lines and warnings go to ``paths.log_path(stem)``, started afresh
    (:mod:`mtlib.progress`). Raises :class:`NotebookFailed` with the notebook, cell, error and
    log in one line.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out = executed_path(notebook)
    out.parent.mkdir(parents=True, exist_ok=True)
    failed_path(notebook).unlink(missing_ok=True)
    log = _start_log(notebook)
    # papermill saves after every cell; the final name appears only when all cells succeeded.
    running = out.with_name(f".{notebook.stem}.running.ipynb")
    start = time.perf_counter()
    try:
        # The kernel inherits the environment when papermill starts it.
        with paths.environ({LOG_ENV: str(log)}):
            papermill.execute_notebook(
                str(notebook), str(running), parameters=params, kernel_name=kernel,
                cwd=str(notebook.parent), progress_bar=progress,
            )
    except PapermillExecutionError as err:
        _keep_failed(notebook, running)
        raise NotebookFailed(
            f"notebook {notebook.stem} failed in cell In[{err.exec_count}]: "
            f"{err.ename}: {_first_line(err.evalue)} (partial output: {failed_path(notebook)}; "
            f"log: {log})"
        ) from None
    except Exception as err:  # noqa: BLE001 - kernel death, timeouts, bad notebook JSON
        _keep_failed(notebook, running)
        raise NotebookFailed(
            f"notebook {notebook.stem} could not run: {type(err).__name__}: "
            f"{_first_line(str(err))} (log: {log})"
        ) from None
    os.replace(running, out)
    return time.perf_counter() - start


def _start_log(notebook: Path) -> Path:
    """Create or truncate the notebook's log: it describes this run only."""
    log = paths.log_path(notebook.stem)
    log.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    log.write_text(f"{stamp} mtlib report: executing {notebook}\n", encoding="utf-8")
    return log


def _keep_failed(notebook: Path, running: Path) -> None:
    if running.exists():
        os.replace(running, failed_path(notebook))
    # An older successful copy would otherwise pass for the result of this run.
    executed_path(notebook).unlink(missing_ok=True)
    html_path(notebook).unlink(missing_ok=True)


def _first_line(text: str) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    if not lines:
        return "(no message)"
    return lines[0] + (" ..." if len(lines) > 1 else "")


def _load_timings(profile: str) -> dict:
    path = paths.report_dir() / TIMINGS_FILE
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        old = {}
    # Timings of another profile do not describe this report.
    if old.get("profile") != profile:
        old = {"profile": profile, "notebooks": {}}
    return old


# --- the runner -------------------------------------------------------------------------


def run_report(
    profile: str | Profile,
    only: Sequence[str] | None = None,
    executor: str | None = None,
    data_root: str | None = None,
    progress: bool = True,
    notebooks_dir: Path | None = None,
    kernel: str = KERNEL,
    steps: Steps = Steps(),
) -> ReportResult:
    """Build the report (see the module docstring); returns the wall times. ``steps``: see
    :class:`Steps`."""
    steps = steps.resolved()
    if not isinstance(profile, Profile):
        profile = load_profile(profile, data_root=data_root)
    if executor:
        profile = profile.replace(executor=executor)
    found = notebooks(notebooks_dir)
    todo = select(found, only, profile.name)
    added = [p.stem for p in todo if p not in select(found, only)]
    if added and progress:
        print(f"also running {', '.join(added)}: --only needs their artifacts for profile "
              f"{profile.name!r}", flush=True)
    timings = _load_timings(profile.name)
    result = ReportResult(profile.name)

    start = time.perf_counter()
    steps.ensure_dataset(profile, progress=progress)
    result.dataset_seconds = timings["dataset_seconds"] = time.perf_counter() - start
    timings["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    def record(nb: Path, seconds: float, status: str) -> None:
        timings["notebooks"][nb.stem] = {"seconds": round(seconds, 2), "status": status}
        timings["total_seconds"] = round(
            timings["dataset_seconds"] + sum(t["seconds"] for t in timings["notebooks"].values()),
            2)
        atomic_write_json(paths.report_dir() / TIMINGS_FILE, timings)

    # The resolved profile (data root and executor included) reaches each kernel as the one
    # papermill parameter ``profile``. (execute() adds each kernel's log.)
    try:
        for i, nb in enumerate(todo, 1):
            if progress:
                print(f"[{i}/{len(todo)}] {nb.stem}", flush=True)
            nb_start = time.perf_counter()
            try:
                seconds = steps.execute(nb, parameters_for(nb, profile), kernel, progress)
            except NotebookFailed:
                record(nb, time.perf_counter() - nb_start, "failed")
                raise
            record(nb, seconds, "finished")
            result.seconds[nb.stem] = seconds
            if progress:
                print(f"[{i}/{len(todo)}] {nb.stem}: {seconds:.1f} s", flush=True)
    except BaseException as failure:
        # The site still shows what finished, but the run stops with the notebook's error.
        _finish_after(failure, profile, steps)
        raise
    _finish(profile, steps)
    return result


def _finish(profile: Profile, steps: Steps) -> None:
    """Build the site from the executed notebooks (none before the first notebook finishes:
    no site)."""
    if site.executed_notebooks():
        steps.build_site(profile.name, data_root=profile.data_root)


def _finish_after(failure: BaseException, profile: Profile, steps: Steps) -> None:
    """:func:`_finish` after ``failure`` stopped the run. An error here must not replace
    the notebook's, so it is printed and added to ``failure`` as a note instead."""
    try:
        _finish(profile, steps)
    except Exception as err:  # noqa: BLE001 - whatever it is, the notebook's error wins
        note = (f"the report site was not rebuilt after the failure: "
                f"{type(err).__name__}: {_first_line(str(err))}")
        print(f"mtlib report: {note}", file=sys.stderr, flush=True)
        failure.add_note(note)


def add_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report", help="execute the notebooks for a profile and render the HTML report",
        description="Ensure the dataset, execute notebooks/NN_*.ipynb with papermill into "
        "results/executed/, record results/report/timings.json, build the offline report "
        "site results/report/index.html. Reruns reuse the run store.",
    )
    p.add_argument("--profile", default="quick",
                   help=f"profile in configs/ (one of: {', '.join(available())}; default quick)")
    p.add_argument("--only", nargs="+", metavar="NN",
                   help="run only these notebooks (numbers like 03, or full names), and "
                   "the notebooks they read whose artifacts are missing")
    p.add_argument("--executor", help="where trial grids run (local | ray); overrides the profile")
    p.add_argument("--data-root", help="real MTAT folder (profile full); overrides "
                   "MTLIB_MTAT_ROOT and the profile's data.root")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--site-only", action="store_true",
                   help="rebuild results/report/ from the executed notebooks; execute nothing")
    p.add_argument("--plan", action="store_true",
                   help="print the training runs and epochs the profile asks for; run nothing")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    if args.plan:
        from mtlib.report.plan import plan
        from mtlib.report.tables import to_markdown

        table = plan(load_profile(args.profile, data_root=args.data_root))
        clips = ["all" if c is None or c != c else str(int(c)) for c in table["train_clips"]]
        print(to_markdown(table.assign(train_clips=clips)))
        for model, epochs in table.groupby("model")["total_epochs"].sum().items():
            runs = table.loc[table["model"] == model, "runs"].sum()
            print(f"{model}: {runs} runs, {epochs} epochs")
        return 0
    if args.site_only:
        index = site.build_site(args.profile, data_root=args.data_root)
        print(f"report site for profile {args.profile}: open {index}")
        return 0
    result = run_report(args.profile, only=args.only, executor=args.executor,
                        data_root=args.data_root, progress=not args.no_progress)
    total = result.dataset_seconds + sum(result.seconds.values())
    print(f"report for profile {result.profile}: {len(result.seconds)} notebook(s), "
          f"{total:.0f} s; open {paths.report_dir() / 'index.html'}")
    return 0

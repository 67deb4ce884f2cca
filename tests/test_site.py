"""The offline report site: built from tiny executed notebooks, it loads nothing remote, its
internal links resolve, its front page holds the claims and deviations, and
``mtlib report --site-only`` rebuilds it without executing anything."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import (  # noqa: E402
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
)

from mtlib import cli, paths  # noqa: E402
from mtlib.report import listening, site  # noqa: E402
from mtlib.report.outputs import PRODUCT_KEY  # noqa: E402
from mtlib.report.products import PRODUCTS, caption, makers  # noqa: E402

CLAIM = "256/256 beats 1024/1024 | with *stars* and <tags>"
FUTURE_CLAIM = "a log-mel input beats raw audio"
DEVIATION_WHY = "CPU budget: the whole quick report must run in half an hour"
GRID_LINE = "Table I: 2 run(s), 0 reused from the run store, 2 trained (local), 3 s"
RESULT_LINE = "hello"  # printed deliberately: a result
TIMINGS = {"profile": "smoke", "dataset_seconds": 2.0, "total_seconds": 155.8, "notebooks": {
    "01_first": {"seconds": 3.8, "status": "finished"},
    "02_second": {"seconds": 150.0, "status": "finished"}}}
# Outputs of mtlib.report.products.PRODUCTS that the fixture writes: (folder, file name).
OUTPUTS = [("figures", "01_tag_distribution.png"), ("figures", "01_tag_distribution.pdf"),
           ("tables", "01_tag_distribution.csv"), ("tables", "01_tag_distribution.md")]
CLIP_SECONDS = 1.5  # the fixture clip's length, which its mp3 must keep
# A chapter's clips to listen to, as a notebook displays them: one MTAT clip.
GROUP = listening.Listening(
    "the best & worst <clips>", (listening.Clip(
        7, "best clip 1: ROC-AUC over its tags 1.000", ("guitar", "rock"),
        (listening.Prediction("shallow CNN", (("guitar", 0.91), ("rock", 0.5)),
                              ("guitar", 0.91)),)),),
    "fixture", 12000, listening.MTAT_ATTRIBUTION)


def write_clip(folder: Path, clip_id: int) -> None:
    """A clip's files as :func:`mtlib.report.listening.write` leaves them: a real mp3 of
    :data:`CLIP_SECONDS` (a 440 Hz tone) and a PNG."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(CLIP_SECONDS * rate)) / rate)
    sf.write(folder / listening.clip_file(clip_id, "mp3"), tone, rate, format="MP3")
    (folder / listening.clip_file(clip_id, "png")).write_bytes(base64.b64decode(_png()))


def _png() -> str:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write_executed(folder: Path, stem: str, png: str) -> None:
    """An executed notebook: a markdown cell, the parameters papermill injected, printed text
    (a result, a line the kernel also logged, a warning) and a PNG output."""
    params = new_code_cell('profile = "smoke"', execution_count=1)
    params.metadata["tags"] = ["injected-parameters"]
    text = new_code_cell("print_result_and_train()", execution_count=2, outputs=[
        new_output("stream", name="stdout", text=f"{RESULT_LINE}\n{GRID_LINE}\n"),
        new_output("stream", name="stderr", text="UserWarning: a warning\n")])
    image = new_code_cell("plot()", execution_count=3, outputs=[
        new_output("display_data", data={"text/markdown": "**a caption**"},
                   metadata={PRODUCT_KEY: {"slug": "01_tag_distribution", "kind": "figure"}}),
        new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})])
    listen = new_code_cell("show_clips()", execution_count=4, outputs=[new_output(
        "display_data", data={"text/html": "<audio controls src='data:audio/mpeg;base64,'>",
                              "text/plain": "clips"},
        metadata={listening.METADATA_KEY: GROUP.to_dict()})])
    nb = new_notebook(cells=[new_markdown_cell(f"# {stem}\n\nSome prose."), params, text,
                             image, listen])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(folder / f"{stem}.ipynb"))


def write_results(results: Path) -> None:
    executed, tables = results / "executed", results / "tables"
    executed.mkdir(parents=True)
    tables.mkdir(parents=True)
    png = _png()
    for stem in ("01_first", "02_second"):
        write_executed(executed, stem, png)
    # 01's kernel logged the grid line it printed; 02 has no log, so it keeps every line.
    (results / "logs").mkdir()
    (results / "logs" / "01_first.log").write_text(
        f"2026-01-01 10:00:00 mtlib report: executing 01_first\n2026-01-01 10:00:05 {GRID_LINE}\n")
    (results / "report").mkdir()
    (results / "report" / "timings.json").write_text(json.dumps(TIMINGS))
    for folder, name in OUTPUTS:
        (results / folder).mkdir(exist_ok=True)
        (results / folder / name).write_text(f"{name}\n")
    # Every other registered figure and table, so that the front page lists each caption.
    for p in PRODUCTS.values():
        for folder, name in ([("figures", f"{slug}.png") for slug in p.figures]
                             + [("tables", f"{slug}.md") for slug in p.tables]):
            if not (results / folder / name).exists():
                (results / folder / name).write_text(f"{name}\n")
    write_clip(results / "listen", 7)
    # A partial notebook of a failed run is no chapter.
    write_executed(executed, "03_third.failed", png)
    blank = {"report_split": "", "sd_clips": None, "sd_seed": None, "sd_total": None,
             "noise": "", "verdict_interval": "not measured", "mde": None, "mde_full": None,
             "too_small_full": False, "report_in_interval": None}
    judged = {"report_split": "test", "sd_clips": 0.008, "sd_seed": 0.007, "sd_total": 0.011,
              "noise": "test clips and seeds (4 seeds of the 256/256 pair)",
              "verdict_interval": "holds", "mde": 0.03, "mde_full": 0.012,
              "too_small_full": False, "report_in_interval": True}
    pd.DataFrame([
        {"key": "a", "section": "VI", "group": "report", "claim": CLAIM,
         "report_difference": 0.014, "effect": 0.034, "low": 0.013, "high": 0.056,
         "verdict": "holds", "note": "", **judged},
        {"key": "b", "section": "V", "group": "report", "claim": "learning rate 0.0075 beats 0.01",
         "report_difference": None, "effect": None, "low": None, "high": None,
         "verdict": "not measured", "note": "no run", **blank},
        {"key": "c", "section": "calibration", "group": "calibration",
         "claim": "two seeds differ", "report_difference": None, "effect": 0.002,
         "low": -0.02, "high": 0.024, "verdict": "inconclusive", "note": "",
         **{**judged, "verdict_interval": "inconclusive"}},
        {"key": "d", "section": "IX", "group": "future", "claim": FUTURE_CLAIM,
         "report_difference": None, "effect": 0.05, "low": 0.02, "high": 0.08,
         "verdict": "holds", "note": "", **judged},
    ]).to_csv(tables / "08_summary_claims.csv", index=False)
    pd.DataFrame([{"key": "search.epochs", "section": "V", "setting": "epochs per search run",
                   "report": 30, "profile": 10, "why": DEVIATION_WHY}]).to_csv(
        tables / "08_summary_deviations.csv", index=False)
    pd.DataFrame([{"variant": "batch norm + dropout 0.2", "test_roc_auc_mean": 0.84,
                   "report_test_roc_auc": 0.8554}]).to_csv(
        tables / "06_normalisation_dropout.csv", index=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A site built once for the module from tiny fixtures; returns results/report."""
    base = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTLIB_RESULTS_DIR", str(base / "results"))
        mp.setenv("MTLIB_CACHE_DIR", str(base / "cache"))
        write_results(base / "results")
        index = site.build_site("smoke")
    assert index == base / "results" / "report" / "index.html"
    return index.parent


def _files(root: Path, *suffixes: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in suffixes and p.is_file()]


REMOTE = [
    re.compile(r"<script\b[^>]*\bsrc=[\"']?(https?:)?//", re.I),
    re.compile(r"<link\b[^>]*\bhref=[\"']?(https?:)?//", re.I),
    re.compile(r"<img\b[^>]*\bsrc=[\"']?(https?:)?//", re.I),
    re.compile(r"<(audio|source)\b[^>]*\bsrc=[\"']?(https?:)?//", re.I),
    re.compile(r"url\(\s*[\"']?(https?:)?//", re.I),
    re.compile(r"@import\s+[\"']?(https?:)?//", re.I),
]


def test_site_loads_nothing_remote(built):
    checked = _files(built, ".html", ".css", ".js")
    assert any(p.suffix == ".css" for p in checked)
    for path in checked:
        text = path.read_text(encoding="utf-8", errors="replace")
        for pattern in REMOTE:
            hit = pattern.search(text)
            assert hit is None, f"{path.relative_to(built)}: {text[hit.start():hit.end() + 60]}"
    assert "mathjax" not in (built / "index.html").read_text().lower()


class _Refs(HTMLParser):
    """The href/src of links, stylesheets, scripts and images in one page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if tag in ("a", "link", "script", "img", "audio", "source") and attrs.get(name):
                self.refs.append(attrs[name])


def test_internal_links_and_images_resolve(built):
    # _static/*.html are the theme's Jinja macros that Sphinx copies along, not pages.
    pages = [p for p in _files(built, ".html") if "_static" not in p.relative_to(built).parts]
    assert {p.name for p in pages} >= {"index.html", "01_first.html", "02_second.html"}
    # The documentation pages are among the pages checked.
    assert {p.relative_to(built).as_posix() for p in pages} >= {
        f"{site.DOCS}/{d.stem}.html" for d in site.doc_pages()}
    assert not (built / "03_third.failed.html").exists()
    images = 0
    for page in pages:
        parser = _Refs()
        parser.feed(page.read_text(encoding="utf-8"))
        for ref in parser.refs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # another site (prose links), mailto:, data:, or "#anchor"
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.exists(), f"{page.name}: {ref} -> {target} is missing"
            images += target.suffix == ".png" and "_images" in target.parts
    assert images >= 2  # each chapter's PNG output became a local image


def test_docs_pages_are_rendered_and_linked(built):
    """Each docs/*.md is a page of the site, listed on the front page after the chapters; the
    checks above (nothing remote, every link resolves) cover these pages too."""
    docs = site.doc_pages()
    assert docs, f"{paths.docs_dir()}: no pages"
    index = (built / "index.html").read_text(encoding="utf-8")
    article = index[index.index("<article"):index.index("</article>")]
    for page in docs:
        html = built / site.DOCS / f"{page.stem}.html"
        assert html.is_file(), f"{page.name}: no page {html.relative_to(built)}"
        assert f'href="{site.DOCS}/{page.stem}.html"' in article, page.name
        # A relative link to another docs page leads to that page's HTML.
        text = html.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([\w-]+)\.md\)", page.read_text(encoding="utf-8")):
            assert f'href="{target}.html' in text, f"{page.name}: link to {target}.md"
    assert article.index("Documentation") > article.index("02_second")


def test_front_page_order_claims_and_deviations(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    # The article only: the sidebar lists the chapters before it.
    article = index[index.index("<article"):index.index("</article>")]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))
    order = ["Digging Deeper into Automatic Music Tagging", "Stand-in data",
             "Profile smoke", "1 holds", "two seeds differ", "What the report expected",
             FUTURE_CLAIM, "Headline numbers", "0.840", "0.855",
             "Deviations from the report", DEVIATION_WHY, "01_first", "02_second"]
    positions = [text.find(s) for s in order]
    assert -1 not in positions, [s for s, p in zip(order, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    # The claim's markup characters come through as text, inside a table.
    assert "256/256 beats 1024/1024 | with *stars* and &lt;tags&gt;" in index
    # The interval reads on one line: its spaces do not break.
    assert "+0.034\u00a0[+0.013,\u00a0+0.056]" in index
    assert index.count("<table") >= 5
    # Which noise an interval holds, and what could be chance.
    assert "4 seeds of the 256/256 pair" in text and "chance alone would decide" in text


def test_front_page_lists_the_files_and_run_times(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    article = index[index.index("Generated files and run times"):index.index("</article>")]
    for _, name in OUTPUTS:
        href = re.search(rf'href="([^"]*/{re.escape(name)})"', article)
        assert href, name
        # A copy inside the site: the report folder can be moved or served on its own.
        target = built / unquote(href.group(1))
        assert target.resolve().is_relative_to(built.resolve())
        assert target.read_text() == f"{name}\n"
    assert "Figure 1: positives per tag in train, valid, test" in article
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article))
    assert "01_first 3.8 s" in text and "02_second 2.5 min" in text
    assert "in all 2.6 min" in text
    assert 'href="01_first.html"' in article  # each notebook links to its chapter


def test_chapters_show_results_not_code_or_logs(built):
    chapter = (built / "01_first.html").read_text(encoding="utf-8")
    article = chapter[chapter.index("<article"):chapter.index("</article>")]
    assert RESULT_LINE in article and "Some prose." in article
    assert GRID_LINE not in article  # the kernel logged it: a log line, not a result
    assert "UserWarning" not in article
    assert "print_result_and_train" not in article and 'profile = "smoke"' not in article
    # Without a log, nothing tells a log line from a result: 02 keeps both.
    assert GRID_LINE in (built / "02_second.html").read_text(encoding="utf-8")


def test_site_stylesheet_widens_the_article(built):
    css = built / "_static" / site.STYLESHEET
    assert "max-width: 100%" in css.read_text()
    assert f'href="_static/{site.STYLESHEET}' in (built / "index.html").read_text()


def test_site_only_rebuilds_without_executing(tmp_path, monkeypatch, capsys):
    write_results(tmp_path / "results")
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("MTLIB_CACHE_DIR", str(tmp_path / "cache"))
    report_dir = paths.report_dir()
    timings = {"profile": "smoke", "notebooks": {
        "03_third": {"seconds": 1.0, "status": "failed"}}}
    (report_dir / "timings.json").write_text(json.dumps(timings))
    (report_dir / "stale.html").write_text("an older page")

    assert cli.main(["report", "--profile", "smoke", "--site-only"]) == 0
    assert "open " in capsys.readouterr().out
    assert (report_dir / "01_first.html").is_file()
    assert not (report_dir / "stale.html").exists()
    assert json.loads((report_dir / "timings.json").read_text()) == timings
    assert "Did not finish in the last run: 03_third" in (report_dir / "index.html").read_text()


def test_missing_notebooks_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))
    with pytest.raises(site.SiteError, match=r"executed: no executed notebooks NN_slug.ipynb"):
        site.build_site("smoke")


def _plain(fragment: str) -> str:
    """HTML as text: tags dropped, entities decoded, Sphinx's curly apostrophes straight."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("\u2019", "'")


def _anchor_resolves(page: Path, href: str) -> bool:
    """``href`` (relative to ``page``) names a file of the site holding its #fragment."""
    parts = urlsplit(href)
    target = (page.parent / unquote(parts.path)).resolve()
    return target.is_file() and (not parts.fragment or f'id="{parts.fragment}"'
                                 in target.read_text(encoding="utf-8"))


def test_every_products_caption_links_to_its_makers_source(built):
    """The front page lists every registered figure and table (the fixture writes them all),
    each caption with a link to the source of the function that made it."""
    index = built / "index.html"
    article = index.read_text(encoding="utf-8")
    article = article[article.index("Generated files and run times"):]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", article, re.S)
    for (kind, slug), dotted in makers().items():
        module, _, name = dotted.rpartition(".")
        href = f"_modules/{module.replace('.', '/')}.html#{name}"
        text = caption(slug, kind)
        row = [r for r in rows if f'href="{href}"' in r and text in _plain(r)]
        assert row, f"{kind} {slug}: no caption linked to {href}"
        assert _anchor_resolves(index, href), f"{kind} {slug}: {href} does not resolve"


def test_chapter_captions_link_to_their_makers_source(built):
    chapter = built / "01_first.html"
    text = chapter.read_text(encoding="utf-8")
    href = re.search(r'href="(_modules/mtlib/report/plots\.html#tag_distribution)"', text)
    assert href and _anchor_resolves(chapter, href.group(1))
    assert "Figure 1: positives per tag in train, valid, test" in text  # the registered caption


def test_chapters_play_the_clips_from_local_copies(built):
    """A listening display becomes a player of the clip's own mp3, copied into the site,
    beside its spectrogram, true tags and scores; MTAT audio carries its licence."""
    chapter = (built / "01_first.html").read_text(encoding="utf-8")
    audio = re.findall(r'<audio controls[^>]*src="([^"]+)"', chapter)
    assert audio == [f"{site.LISTEN}/clip-000007.mp3"]
    copied = built / audio[0]
    results = built.parent
    assert copied.read_bytes() == (results / "listen" / "clip-000007.mp3").read_bytes()
    assert f'src="{site.LISTEN}/clip-000007.png"' in chapter
    assert (built / site.LISTEN / "clip-000007.png").is_file()
    assert "data:audio" not in chapter  # the notebook's embedded copy stays out of the site
    for shown in ("guitar 0.91", "true tags: <strong>guitar</strong>, rock",
                  "the best &amp; worst &lt;clips&gt;", "CC BY-NC-SA 3.0"):
        assert shown in chapter, shown
    assert sorted(p.name for p in (built / site.LISTEN).iterdir()) == [
        "clip-000007.mp3", "clip-000007.png"]


def test_every_maker_is_a_documented_function_of_the_report_pages():
    """autodoc documents (and viewcode anchors) only functions with a docstring."""
    import importlib

    for dotted in set(makers().values()):
        module, _, name = dotted.rpartition(".")
        function = getattr(importlib.import_module(module), name)
        assert callable(function) and function.__doc__, dotted
        assert module in site.report_modules(), dotted


def test_api_reference_documents_the_core_and_the_cli(built):
    pages = {name: (built / site.API / f"{name}.html").read_text(encoding="utf-8")
             for name in (*site.API_PAGES, "report", "cli")}
    assert "mtlib.training.runs.RunStore" in pages["training"]  # the run store
    assert "mtlib.data.cache.ClipCache" in pages["data"]
    assert "mtlib.models.dieleman.DielemanCNN" in pages["models"]
    assert "--site-only" in pages["cli"] and "mtlib tag" in pages["cli"]
    # Every documented object links to its source, and the source pages exist.
    for name, page in pages.items():
        sources = re.findall(r'href="(\.\./_modules/[^"]+)"', page)
        assert sources or name == "cli", name
        for href in sources[:20]:
            assert _anchor_resolves(built / site.API / f"{name}.html", href), href
    index = (built / "index.html").read_text(encoding="utf-8")
    assert f'href="{site.API}/training.html"' in index


def test_a_missing_clip_is_one_line(tmp_path, monkeypatch):
    write_results(tmp_path / "results")
    (tmp_path / "results" / "listen" / "clip-000007.mp3").unlink()
    monkeypatch.setenv("MTLIB_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("MTLIB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(site.SiteError, match=r"clip-000007.mp3: missing; a chapter plays clip 7"):
        site.build_site("smoke")


DURATIONS = """<pre id="durations">pending</pre><script>
const players = [...document.querySelectorAll("audio")];
Promise.all(players.map(a => new Promise(done => {
  if (a.readyState >= 1) return done(a.duration);
  a.addEventListener("loadedmetadata", () => done(a.duration));
  a.addEventListener("error", () => done(-1));
  a.load();
}))).then(d => { document.getElementById("durations").textContent = d.join(" "); });
</script></body>"""


@pytest.mark.slow
def test_a_browser_plays_the_chapters_clips_offline(built, tmp_path):
    """Headless Chromium, offline, opens a chapter (with a script that reads each player's
    duration once its metadata loaded): every player loads its local mp3, at its length."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium")
    page = built / "01_first.check.html"
    page.write_text((built / "01_first.html").read_text(encoding="utf-8").replace(
        "</body>", DURATIONS), encoding="utf-8")
    try:
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server",
             f"--user-data-dir={tmp_path}", "--virtual-time-budget=20000", "--dump-dom",
             page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    finally:
        page.unlink()
    found = re.search(r'<pre id="durations"[^>]*>([^<]*)</pre>', dom)
    assert found, dom[-2000:]
    durations = [float(d) for d in found.group(1).split()]
    assert durations and all(d == pytest.approx(CLIP_SECONDS, abs=0.06) for d in durations), \
        durations

"""mtlib: a reproducibility report for music auto-tagging on MagnaTagATune.

The package has three wings and a spine; imports run one way (``tests/test_layers.py``):

- **the core**, what a reader reuses without the report: :mod:`mtlib.data` (MTAT's files,
  the prepared cache, the datasets), :mod:`mtlib.models` (the shallow CNN, SampleCNN, the
  front ends) and :mod:`mtlib.training` (``fit``, the metrics, the run store, the grid
  executors, the tagger bundle). It imports only the base modules below.
- **the stand-in generator**, :mod:`mtlib.standin`: a synthetic MTAT rendered from real
  scores, in MTAT's own on-disk format. It imports the core's data layer.
- **the report**, :mod:`mtlib.report`: profiles, the pipeline of notebooks, one module per
  section, the verdicts, tables, figures, the site and the runner.
- **the spine**, :mod:`mtlib.paper`: the report being reproduced, as data: its numbers, its
  settings (the ledger), its claims and its training recipes. The report reads it; the core
  never does.

:mod:`mtlib.forensics` holds optional tools that check the paper against MTAT's metadata.
The base modules (``errors``, ``paths``, ``io``, ``progress``, ``constants``, ``config``)
import nothing else of mtlib; ``cli`` loads each wing's commands by name.
"""

__version__ = "0.1.0"

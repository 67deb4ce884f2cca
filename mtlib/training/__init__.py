"""Training and scoring, the core's top layer: :mod:`.fit` (one run: SGD, early stopping,
scoring), :mod:`.metrics`, the run store (:mod:`.runs`, :mod:`.rundir`), grids of trials
(:mod:`.executors`, :mod:`.variants`), a run's cost (:mod:`.cost`) and tagging new audio
(:mod:`.tagging`)."""

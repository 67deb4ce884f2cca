"""One module per notebook of the report, named after it.

Each exposes what its notebook needs: ``run(...)`` trains (through
:func:`mtlib.training.executors.run_grid`) or reads the section's runs and returns a small result
object holding every number the notebook's prose uses; ``save(profile, result)`` writes the
section's figures, tables (:mod:`mtlib.report.products`) and artifact and returns the
:class:`~mtlib.report.outputs.Outputs` to show.

========================  ==========================================================
notebook                  module
========================  ==========================================================
01_tag_distribution       :mod:`.tag_distribution`
02_hyperparameter_search  :mod:`.hyperparameter_search`
03_length_stride_table    :mod:`.length_stride_table`
04_training_curves        :mod:`.training_curves`
05_per_tag_analysis       :mod:`.per_tag_analysis`
06_normalisation_dropout  :mod:`.normalisation_dropout`
07_samplecnn              :mod:`.samplecnn`
08_summary                :mod:`.summary`
09_future_work            :mod:`.future_work`
10_seed_noise             :mod:`.seed_noise`
========================  ==========================================================

Shared pieces: :mod:`.grids` (trial grids, mean/std over trials) and :mod:`.settings`
(what a profile shrinks relative to the report). The studies of notebooks 02, 06, 07 and 09
(steps of variants, each keeping the best on validation) are specs of one chain,
:mod:`mtlib.report.study`; their arms are :class:`mtlib.paper.arms.Arm` records, which the
claims (:mod:`mtlib.paper.claims`) name.
"""

"""The stand-in MagnaTagATune corpus: real scores rendered with a General MIDI SoundFont.

Real MTAT audio cannot be downloaded everywhere, so mtlib's default dataset is synthetic but
written in MTAT's own on-disk format and read by the same code. Entry point:
:func:`mtlib.standin.corpus.synth_mtat` (CLI ``mtlib synth-mtat --out DIR --clips N --seed S``).
With ``--mtat-ids`` (``mtat_ids=True``) the clips take real MTAT clip ids and mp3 paths from the
standard split lists, so the ``standard`` split works on the corpus too.

Modules, in pipeline order:

- ``vocab``: the 31 MTAT top-50 tags GM rendering carries, and their real MTAT frequencies;
- ``scores``: the music21 corpus scores (chorales, Palestrina, quartets, fiddle and folk
  tunes) and their cached note lists;
- ``recipes``: styles, recipes and their weak labels (no audio);
- ``plan``: every clip's score, recipe, split, file name and labels (no audio);
- ``arrange``: a recipe applied to a score -> ``pretty_midi.PrettyMIDI``;
- ``render``: SoundFont rendering (tinysoundfont + TimGM6mb), degradation, mp3;
- ``corpus``: :func:`synth_mtat` and the CLI;
- ``baseline``: the log-mel statistics + logistic-regression learnability check.
"""

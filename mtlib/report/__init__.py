"""The reproducibility report: :mod:`.profiles` (quick, smoke, rehearsal, full),
:mod:`.products` (what each notebook writes and reads), :mod:`.sections` (one module per
notebook), :mod:`.verdicts` (the claims judged), :mod:`.tables` and :mod:`.plots`,
:mod:`.site` (the offline HTML report) and :mod:`.runner` (``mtlib report``)."""

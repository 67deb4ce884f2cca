"""The report being reproduced, as data: :mod:`.numbers` (every published number, with its
section and split), :mod:`.dataset` (what it says of its clips), :mod:`.ledger` (every
setting it states, and our readings of what it leaves open), :mod:`.claims` (every
comparison it makes) and :mod:`.recipes` (the training recipes it starts from)."""

"""Optional checks of the paper against MTAT's metadata; nothing in the report imports them.
:mod:`.vocabularies`: which tag list and clip filter give the report's 21,355 clips."""

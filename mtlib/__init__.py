"""mtlib: a reproducibility report for music auto-tagging on MagnaTagATune."""

__version__ = "0.1.0"

"""teamd-py: adapter fault tolerance (AFT) teams on a kernel bond, driven by a sans-IO engine."""

__version__ = "0.1.0"

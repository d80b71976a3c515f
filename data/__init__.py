"""Datasets: download and integrity checks, readers, batching."""


class DataUnavailable(Exception):
    """A dataset is missing or unreadable; the message names the expected path and how to get
    it (the entry point turns it into one line and exit code 2)."""

"""Datasets: download and integrity checks, readers, batching.

The data layer raises its own errors and knows nothing of the training suite: the task builder
(``experiments.assembly``) turns a ``DataError`` into the suite's one-line refusal (exit 2)."""


class DataError(Exception):
    """Bad data or a bad data setting (an unknown corpus, a malformed dictionary, a sentence pair
    over the token budget); the message is one line naming what is wrong and the way out."""


class DataUnavailable(DataError):
    """A dataset is missing or unreadable; the message names the expected path and how to get
    it (the entry point turns it into one line and exit code 2)."""

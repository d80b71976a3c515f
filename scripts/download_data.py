"""Fetch and check datasets: ``python -m scripts.download_data DATASET [--data-dir DIR] [--check]``
(the command of ``data.download``, which documents it)."""

from __future__ import annotations

import sys

from data.download import main

if __name__ == "__main__":
    sys.exit(main())

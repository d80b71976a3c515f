"""Where the Hydra config tree lives (torch-free, so the table command can import it)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"

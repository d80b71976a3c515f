"""Where the committed fixtures are (tests/fixtures/: hand-made, never results)."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE_RUNS = FIXTURES / "runs"
FIXTURE_REFERENCE = FIXTURES / "reference"
RECORDED_WANDB_RESPONSE = FIXTURES / "wandb_api" / "runs_response.json"

"""A run that compiles nothing starts without importing torch's compiler stack: neither
``torch._dynamo`` (imported by torch's Optimizer methods) nor ``torch._inductor`` (imported by
``torch.use_deterministic_algorithms``), seconds of every run start on a small machine."""

from __future__ import annotations

import subprocess
import sys

from tests.experiments.cli import REPO_ROOT

PROGRAM = """
import sys, torch
from experiments.torch_startup import defer_dynamo_import, set_deterministic
from optimizers import Adam, RAdam
defer_dynamo_import()
set_deterministic(True)
model = torch.nn.Linear(4, 2)
for kind in (Adam, RAdam):
    optimizer = kind(model.parameters(), lr=1e-3)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    optimizer.zero_grad()
    optimizer.load_state_dict(optimizer.state_dict())
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))]})
print(sorted(name for name in ("torch._dynamo", "torch._inductor") if name in sys.modules))
"""


def test_an_uncompiled_run_never_imports_dynamo_or_inductor() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout

"""The learning-rate probe against a hand computation on a tiny model, and end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from experiments.lr_probe import LearningRateProbe
from experiments.models.digits_cnn import DigitsCNN
from experiments.report.lr_probe_figures import dead_coordinates, plot_run
from optimizers import AdaBound, Adam, RAdam
from tests.experiments.cli import read_metrics
from tests.report.command_line import run_script

STEPS = 7


def trained(optimizer_class, **hyper) -> tuple[DigitsCNN, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = DigitsCNN()
    optimizer = optimizer_class(model.parameters(), **hyper)
    for _ in range(STEPS):
        inputs, targets = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()
    return model, optimizer


def v_of(optimizer, model, name: str, index: int) -> float:
    param = dict(model.named_parameters())[name]
    return float(optimizer.state[param]["exp_avg_sq"].reshape(-1)[index])


def test_samples_nine_kernel_and_one_final_bias_coordinates() -> None:
    model, optimizer = trained(Adam)
    probe = LearningRateProbe(model, optimizer, seed=3)
    names = [name for name, _ in probe.coordinates]
    assert len(names) == 10
    assert all(name.endswith("weight") for name in names[:9])
    assert all(dict(model.named_parameters())[name].ndim == 4 for name in names[:9])
    assert names[9] == "classifier.3.bias"
    assert probe.coordinates == LearningRateProbe(model, optimizer, seed=3).coordinates
    assert probe.coordinates != LearningRateProbe(model, optimizer, seed=4).coordinates


def test_adam_probe_equals_lr_over_sqrt_v_hat_plus_eps() -> None:
    lr, beta2, eps = 1e-3, 0.999, 1e-8
    model, optimizer = trained(Adam, lr=lr)
    probe = LearningRateProbe(model, optimizer)
    event = probe.epoch_event()
    for name, index in probe.coordinates:
        v_hat = v_of(optimizer, model, name, index) / (1 - beta2**STEPS)
        expected = lr / (math.sqrt(v_hat) + eps)
        assert event[f"diag/lr/{name}[{index}]"] == pytest.approx(expected, rel=1e-5)


def test_adabound_probe_is_the_clipped_step() -> None:
    lr, betas, final_lr, gamma, eps = 1e-3, (0.9, 0.999), 0.1, 1e-3, 1e-8
    model, optimizer = trained(AdaBound, lr=lr, final_lr=final_lr, gamma=gamma)
    probe = LearningRateProbe(model, optimizer)
    event = probe.epoch_event()
    lower = final_lr * (1 - 1 / (gamma * STEPS + 1))
    upper = final_lr * (1 + 1 / (gamma * STEPS))
    for name, index in probe.coordinates:
        raw = lr * math.sqrt(1 - betas[1] ** STEPS) / (1 - betas[0] ** STEPS)
        raw /= math.sqrt(v_of(optimizer, model, name, index)) + eps
        expected = min(max(raw, lower), upper)
        assert event[f"diag/lr/{name}[{index}]"] == pytest.approx(expected, rel=1e-5)


def test_distribution_spans_every_coordinate() -> None:
    model, optimizer = trained(Adam)
    event = LearningRateProbe(model, optimizer).epoch_event()
    every = torch.cat([optimizer.effective_lr(p).reshape(-1) for p in model.parameters()])
    assert event["diag/lr_all/min"] == pytest.approx(float(every.min()))
    assert event["diag/lr_all/max"] == pytest.approx(float(every.max()))
    levels = ["min", "p1", "p5", "p25", "p50", "p75", "p95", "p99", "max"]
    values = [event[f"diag/lr_all/{level}"] for level in levels]
    assert values == sorted(values)


def test_radam_step_event_is_rho_t_and_r_t() -> None:
    beta2 = 0.999
    model, optimizer = trained(RAdam, betas=(0.9, beta2))
    event = LearningRateProbe(model, optimizer).step_event()
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * STEPS * beta2**STEPS / (1 - beta2**STEPS)
    r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    assert event["diag/rho_t"] == pytest.approx(rho_t, rel=1e-9)
    assert event["diag/r_t"] == pytest.approx(r_t, rel=1e-9)


def test_probe_in_a_run_and_its_figures(tmp_path, run_in_process) -> None:
    done = run_in_process("optimizer=radam", "diagnostics.lr_probe=true", "task.epochs=2")
    assert done.returncode == 0 and done.run_dir is not None
    events = read_metrics(done.run_dir)
    probed = [e for e in events if "diag/lr_all/max" in e]
    assert [e["epoch"] for e in probed] == [1.0, 2.0]
    assert all(sum(k.startswith("diag/lr/") for k in e) == 10 for e in probed)
    assert all("diag/rho_t" in e for e in events if "train/loss" in e)
    paths = plot_run(done.run_dir, tmp_path / "figures")
    assert {p.name for p in paths} >= {"lr_heatmap.png", "lr_distribution.pdf"}
    assert all(p.stat().st_size > 1000 for p in paths)


def test_sgd_coordinates_share_the_group_lr() -> None:
    model, optimizer = trained(torch.optim.SGD, lr=0.05, momentum=0.9)
    event = LearningRateProbe(model, optimizer).epoch_event()
    rates = [value for key, value in event.items() if key.startswith("diag/lr")]
    assert len(rates) == 10 + 9 and all(rate == pytest.approx(0.05) for rate in rates)


def test_plotting_a_path_that_is_not_a_run_is_one_line_and_exit_2(tmp_path) -> None:
    stopped = run_script("plot_lr_probe", tmp_path / "nope")
    assert stopped.returncode == 2
    (line,) = stopped.stderr.strip().splitlines()
    assert "is not a run directory" in line and "diagnostics.lr_probe=true" in line


def test_coordinates_at_lr_over_eps_are_dead_and_kept_off_the_colour_scale() -> None:
    # Adam's lr 1e-3 over ε 1e-8 on a coordinate without gradient, against live ones near 1e-2.
    values = np.array([[1e-2, 2e-2], [5e-3, 1e-2], [1e5, 3e-2], [2e-2, 1e-2]])
    assert dead_coordinates(values).tolist() == [[False] * 2, [False] * 2, [True, False],
                                                 [False] * 2]  # fmt: skip
    assert not dead_coordinates(np.full((3, 2), 0.1)).any()

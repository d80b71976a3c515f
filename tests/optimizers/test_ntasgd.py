"""NT-ASGD against a float64 hand computation of AWD-LSTM's rule (``main.py``: SGD until
``len(history) > nonmono and loss > min(history[:-nonmono])``, then ``torch.optim.ASGD(t0=0,
lambd=0)``), against torch's SGD and ASGD themselves, and through a state_dict round trip."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from optimizers import NTASGD


def awd_lstm_switch(losses: list[float], nonmono: int) -> int | None:
    """The 1-based evaluation at which main.py switches to ASGD (None: never)."""
    best_val_loss: list[float] = []
    for epoch, val_loss in enumerate(losses, start=1):
        if len(best_val_loss) > nonmono and val_loss > min(best_val_loss[:-nonmono]):
            return epoch
        best_val_loss.append(val_loss)
    return None


@pytest.mark.parametrize("nonmono", [1, 3, 5])
def test_the_trigger_is_awd_lstm_s(nonmono: int) -> None:
    rng = np.random.default_rng(nonmono)
    for _ in range(20):
        losses = list(5.0 - np.cumsum(rng.random(15)) * 0.1 + rng.normal(0, 0.08, 15))
        optimizer = NTASGD([torch.zeros(1, requires_grad=True)], nonmono=nonmono)
        for loss in losses:
            optimizer.observe({"val/loss": loss})
        assert optimizer.switched_at == awd_lstm_switch(losses, nonmono)
        assert optimizer.averaging == (optimizer.switched_at is not None)


def hand_run(theta, grads, lrs, switch_after, weight_decay):  # noqa: ANN001, ANN201
    """float64: SGD θ ← θ − η(g + wd·θ) for the first ``switch_after`` updates, then ASGD with
    t0 = 0, λ = 0: the step uses η of the previous averaged update (the first: its own), ax = θ
    after the first two averaged updates, then ax += (θ − ax)/(k − 1) at the k-th."""
    theta, average, eta = theta.copy(), np.zeros_like(theta), None
    for index, (grad, lr) in enumerate(zip(grads, lrs, strict=True)):
        grad = grad + weight_decay * theta
        if index < switch_after:
            theta = theta - lr * grad
            continue
        k = index - switch_after + 1
        eta = lr if eta is None else eta
        theta = theta - eta * grad
        average = theta.copy() if k <= 2 else average + (theta - average) / (k - 1)
        eta = lr
    return theta, average


def test_both_phases_against_a_hand_computation_and_torch() -> None:
    rng = np.random.default_rng(0)
    start = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(12)]
    lrs = [0.5 * (1 + 0.1 * i) for i in range(12)]  # a changing lr: the per-batch scale
    param = torch.tensor(start, requires_grad=True)
    optimizer = NTASGD([param], lr=0.5, weight_decay=0.01, nonmono=1)
    torch_param = torch.tensor(start, requires_grad=True)
    sgd = torch.optim.SGD([torch_param], lr=0.5, weight_decay=0.01)
    asgd = None
    for index, (grad, lr) in enumerate(zip(grads, lrs, strict=True)):
        if index == 4:  # the trigger fires between updates 4 and 5
            for loss in (2.0, 3.0, 2.5):
                optimizer.observe({"val/loss": loss})
            assert optimizer.averaging and optimizer.switched_at == 3
            asgd = torch.optim.ASGD([torch_param], lr=0.5, t0=0, lambd=0.0, weight_decay=0.01)
        reference = asgd or sgd
        for group in (*optimizer.param_groups, *reference.param_groups):
            group["lr"] = lr
        param.grad, torch_param.grad = torch.tensor(grad), torch.tensor(grad)
        optimizer.step()
        reference.step()
        # torch keeps ASGD's eta and mu as float32 tensors: equal up to that rounding
        torch.testing.assert_close(param, torch_param, rtol=1e-6, atol=1e-6)
    theta, average = hand_run(start, grads, lrs, 4, 0.01)
    np.testing.assert_allclose(param.detach().numpy(), theta, rtol=1e-12)
    np.testing.assert_allclose(optimizer.state[param]["ax"].numpy(), average, rtol=1e-12)
    np.testing.assert_allclose(asgd.state[torch_param]["ax"].numpy(), average, rtol=1e-6, atol=1e-6)


def test_evaluation_uses_the_average_only_when_asked() -> None:
    for evaluate_averaged in (True, False):
        param = torch.tensor([1.0, 2.0], requires_grad=True)
        optimizer = NTASGD([param], lr=0.1, nonmono=0, evaluate_averaged=evaluate_averaged)
        with optimizer.averaged_parameters():
            assert param.tolist() == [1.0, 2.0]  # no average before the trigger
        optimizer.observe({"val/loss": 1.0})
        optimizer.observe({"val/loss": 2.0})
        assert optimizer.averaging
        for grad in ([1.0, 1.0], [3.0, -1.0], [0.0, 2.0]):
            param.grad = torch.tensor(grad)
            optimizer.step()
        raw = param.detach().clone()
        average = optimizer.state[param]["ax"].clone()
        assert not torch.equal(raw, average)
        with optimizer.averaged_parameters():
            inside = param.detach().clone()
        assert torch.equal(inside, average if evaluate_averaged else raw)
        assert torch.equal(param.detach(), raw), "restored on exit"


def test_a_state_dict_round_trip_mid_trajectory_continues_exactly() -> None:
    rng = np.random.default_rng(1)
    grads = [torch.tensor(rng.normal(size=3)) for _ in range(10)]
    losses = [1.0, 0.8, 0.9, 1.1, 0.7, 0.99]

    def trajectory(split_at: int | None) -> tuple[torch.Tensor, list[float]]:
        param = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        optimizer = NTASGD([param], lr=0.3, weight_decay=1e-3, nonmono=2)
        for index, grad in enumerate(grads):
            if index == split_at:
                buffer = io.BytesIO()
                torch.save({"p": param.detach().clone(), "o": optimizer.state_dict()}, buffer)
                buffer.seek(0)
                saved = torch.load(buffer, weights_only=True)
                param = saved["p"].clone().requires_grad_(True)
                optimizer = NTASGD([param], lr=0.3, weight_decay=1e-3, nonmono=2)
                optimizer.load_state_dict(saved["o"])
            if index < len(losses):
                optimizer.observe({"val/loss": losses[index]})
            param.grad = grad.clone()
            optimizer.step()
        return param.detach(), optimizer.history

    straight, history = trajectory(None)
    assert history == losses[:4], "the trigger fired at the fourth evaluation"
    for split_at in (2, 5, 7):
        resumed, resumed_history = trajectory(split_at)
        assert torch.equal(resumed, straight) and resumed_history == history


def test_bad_arguments_and_a_missing_monitor_are_named() -> None:
    param = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match="lr"):
        NTASGD(param, lr=0.0)
    with pytest.raises(ValueError, match="nonmono"):
        NTASGD(param, nonmono=-1)
    optimizer = NTASGD(param, monitor="test/ppl")
    with pytest.raises(ValueError, match="'test/ppl'.*val/loss"):
        optimizer.observe({"val/loss": 1.0})

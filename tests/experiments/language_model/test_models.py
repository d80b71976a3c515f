"""The language models: parameter counts at the real vocabularies (on the meta device, nothing
allocated) against the references' layer shapes, the adaptive softmax against torch's
``AdaptiveLogSoftmaxWithLoss`` with the same weights, and the AWD-LSTM details the rerun's code
has (frozen hidden-to-hidden weights, weight drop, AR/TAR)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from experiments.models.adaptive_softmax import AdaptiveSoftmax, plan_clusters
from experiments.models.awd_lstm import AWDLSTM
from experiments.models.billion_word_lstm import BillionWordLSTM

BENCHMARK_VOCABULARY = 793_471


def lstm_unit(n_in: int, hidden: int) -> int:
    """nn.LSTM(n_in, hidden, 1) as the references build each layer: weight_ih, weight_hh and two
    bias vectors."""
    return 4 * hidden * (n_in + hidden) + 2 * 4 * hidden


def radam_lm_parameters(vocabulary: int) -> int:
    """train_1bw.py defaults: Embedding(V, 300), BasicRNN of two LSTM units (300 → 2048,
    2048 → 2048), AdaptiveSoftmax(2048, [4000, 40000, 200000, V + 1])."""
    cutoff = [4000, 40000, 200000, vocabulary + 1]
    head = 2048 * (cutoff[0] + 3) + (cutoff[0] + 3)
    tails = sum(
        2048 * (2048 // 4 ** (i + 1)) + (2048 // 4 ** (i + 1)) * (cutoff[i + 1] - cutoff[i])
        for i in range(3)
    )
    return vocabulary * 300 + lstm_unit(300, 2048) + lstm_unit(2048, 2048) + head + tails


def adabelief_ptb_parameters(layers: int, vocabulary: int = 10_000) -> int:
    """model.RNNModel(LSTM, ntoken, 400, 1150, layers, tie_weights=True): the encoder (shared
    with the decoder), LSTMs 400 → 1150 → … → 400 and the decoder bias."""
    sizes = [1150] * (layers - 1) + [400]
    inputs = [400, *sizes[:-1]]
    lstms = sum(lstm_unit(a, b) for a, b in zip(inputs, sizes, strict=True))
    return vocabulary * 400 + lstms + vocabulary


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_the_one_billion_word_model_has_the_reference_s_parameter_count() -> None:
    with torch.device("meta"):
        model = BillionWordLSTM(BENCHMARK_VOCABULARY)
    assert next(model.parameters()).is_meta
    assert count(model) == radam_lm_parameters(BENCHMARK_VOCABULARY) == 358_344_823
    assert count(model) == 332 * BENCHMARK_VOCABULARY + 94_912_451  # the config header's form


@pytest.mark.parametrize(("layers", "expected"), [(1, 5_293_200), (2, 13_632_400), (3, 24_221_600)])
def test_the_ptb_lstms_have_the_rerun_s_parameter_counts(layers: int, expected: int) -> None:
    with torch.device("meta"):
        model = AWDLSTM(10_000, layers=layers)
    assert count(model) == adabelief_ptb_parameters(layers) == expected


def test_the_adaptive_softmax_equals_torch_s_with_the_same_weights() -> None:
    torch.manual_seed(0)
    cutoffs = [8, 20, 45, 61]  # the reference's form: the last cutoff is V + 1 (V = 60)
    ours = AdaptiveSoftmax(64, cutoffs)
    theirs = nn.AdaptiveLogSoftmaxWithLoss(64, 61, cutoffs[:-1], div_value=4.0, head_bias=True)
    theirs.load_state_dict(
        {k.replace("tails", "tail"): v for k, v in ours.state_dict().items()}, strict=True
    )
    hidden = torch.randn(40, 64)
    targets = torch.from_numpy(np.random.default_rng(0).integers(0, 60, 40))
    logp = ours(hidden, plan_clusters(targets.numpy(), cutoffs))
    reference = theirs(hidden, targets)
    torch.testing.assert_close(logp, reference.output)
    torch.testing.assert_close(-logp.mean(), reference.loss)
    full = ours.log_prob(hidden)
    torch.testing.assert_close(full, theirs.log_prob(hidden))
    torch.testing.assert_close(full.exp().sum(dim=1), torch.ones(40))
    torch.testing.assert_close(full.gather(1, targets[:, None]).squeeze(1), logp)


def test_every_tail_gets_a_gradient_even_without_targets() -> None:
    softmax = AdaptiveSoftmax(16, [4, 10, 30])
    targets = np.array([0, 1, 2, 3, 2])  # only head words
    plan = plan_clusters(targets, softmax.cutoffs)
    assert [len(rows) for rows in plan.rows] == [0, 0]
    softmax(torch.randn(5, 16), plan).sum().backward()
    assert all(p.grad is not None for p in softmax.parameters())
    assert all(not p.grad.any() for tail in softmax.tails for p in tail.parameters())


def cpu_runs_a_bf16_lstm() -> bool:
    """oneDNN runs an LSTM under bf16 autocast only on CPUs with bf16 support (AVX-512 BF16,
    AMX); elsewhere it cannot create the primitive. CUDA runs it everywhere."""
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.LSTM(2, 2)(torch.randn(1, 1, 2))
    except RuntimeError:
        return False
    return True


@pytest.mark.skipif(not cpu_runs_a_bf16_lstm(), reason="this CPU cannot run a bf16 LSTM (oneDNN)")
def test_log_probabilities_stay_fp32_under_bf16_autocast() -> None:
    model = BillionWordLSTM(60, embed_dim=8, hidden_size=16, cutoffs=(10, 30))
    inputs = torch.randint(0, 60, (5, 3))
    targets = torch.randint(0, 60, (5, 3))
    plan = plan_clusters(targets.numpy(), model.cutoffs)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logp = model.softmax(torch.randn(15, 16), plan)
        nll, _, _ = model(inputs, targets, None, plan)
    assert logp.dtype == torch.float32 and nll.dtype == torch.float32


def test_the_rerun_s_hidden_to_hidden_weights_never_train() -> None:
    torch.manual_seed(0)
    inputs, targets = torch.randint(0, 30, (6, 2)), torch.randint(0, 30, (6, 2))
    for mode, trains in (("frozen", False), ("trained", True)):
        model = AWDLSTM(30, layers=2, embed_dim=8, hidden_size=12, hidden_weights=mode)
        before = [rnn.lstm.weight_hh_l0.detach().clone() for rnn in model.rnns]
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        nll, penalty, _ = model(inputs, targets, None)
        (nll + penalty).backward()
        optimizer.step()
        after = [rnn.lstm.weight_hh_l0.detach() for rnn in model.rnns]
        hidden_weights = [rnn.lstm.weight_hh_l0 for rnn in model.rnns]
        assert all((weight.grad is not None) == trains for weight in hidden_weights)
        assert all(torch.equal(b, a) != trains for b, a in zip(before, after, strict=True))
        assert model.rnns[0].lstm.weight_ih_l0.grad is not None


def test_weight_drop_masks_change_per_forward_in_training_only() -> None:
    torch.manual_seed(1)
    model = AWDLSTM(30, layers=1, embed_dim=8, dropout=0.0, dropout_hidden=0.0,
                    dropout_input=0.0, dropout_embedding=0.0, weight_drop=0.5)  # fmt: skip
    inputs, targets = torch.randint(0, 30, (6, 2)), torch.randint(0, 30, (6, 2))
    first, second = (model(inputs, targets, None)[0] for _ in range(2))
    assert not torch.equal(first, second)
    model.eval()
    first, second = (model(inputs, targets, None)[0] for _ in range(2))
    assert torch.equal(first, second)


def test_ar_and_tar_follow_the_rerun_s_loss() -> None:
    """main.py: loss = CE + α·mean(dropped_out²) + β·mean((h[1:] − h[:-1])²) on the last
    layer; with every dropout 0 the dropped output is the raw one."""
    torch.manual_seed(2)
    model = AWDLSTM(30, layers=2, embed_dim=8, hidden_size=12, dropout=0.0, dropout_hidden=0.0,
                    dropout_input=0.0, dropout_embedding=0.0, weight_drop=0.0,
                    ar_alpha=2.0, tar_beta=1.0)  # fmt: skip
    inputs, targets = torch.randint(0, 30, (7, 3)), torch.randint(0, 30, (7, 3))
    nll, penalty, _ = model(inputs, targets, None)
    x = model.embedding(inputs)
    for rnn in model.rnns:
        x, _ = rnn.lstm(x)
    logits = x @ model.embedding.weight.T + model.decoder.bias
    assert torch.allclose(nll, F.cross_entropy(logits.reshape(-1, 30), targets.reshape(-1),
                                               reduction="sum"))  # fmt: skip
    expected = 2.0 * x.pow(2).mean() + 1.0 * (x[1:] - x[:-1]).pow(2).mean()
    torch.testing.assert_close(penalty, expected)
    model.eval()
    assert model(inputs, targets, None)[1].item() == 0.0, "no regulariser in evaluation"


@pytest.mark.slow
def test_one_training_step_at_the_real_shape() -> None:
    """One step of the real 0.36 B-parameter model at batch 128 × 20 with Adam (≈ 1 TFLOP and
    ≈ 6 GB on a CPU)."""
    torch.manual_seed(0)
    model = BillionWordLSTM(BENCHMARK_VOCABULARY)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    ranks = np.exp(rng.random((21, 128)) * np.log(BENCHMARK_VOCABULARY + 1.0)) - 1.0
    tokens = torch.from_numpy(np.minimum(ranks.astype(np.int64), BENCHMARK_VOCABULARY - 1))
    inputs, targets = tokens[:-1], tokens[1:]
    plan = plan_clusters(targets.numpy(), model.cutoffs)
    nll, _, hidden = model(inputs, targets, None, plan)
    (nll / targets.numel()).backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    assert 12.0 < nll.item() / targets.numel() < 15.0  # ≈ ln(793,471) = 13.6 at initialisation
    assert hidden[0].shape == (2, 128, 2048)

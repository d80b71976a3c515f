"""A stop signal inside beam search (issue 22, point 6): the search asks the evaluation's stop
check before every decoding step, so a SIGTERM is honoured within one step of a large batch; the
batch, and the evaluation with it, are abandoned (``EvaluationStopped``). The signal is a real
SIGTERM the process sends itself, recorded by the run's real ``StopSignals``."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from data.sample_corpora import write_iwslt14
from experiments.distributed import SINGLE_PROCESS
from experiments.loop_evaluation import evaluate
from experiments.loop_options import LoopOptions
from experiments.runs.signals import StopSignals
from experiments.tasks.contract import Evaluation, EvaluationStopped
from experiments.tasks.translation.beam_search import GenerationSettings, beam_search
from tests.experiments.translation.test_beam_search import tiny
from tests.experiments.translation.test_translation_task import make

SETTINGS = GenerationSettings(beam=4, max_len_a=0.0, max_len_b=30)


class SignalOnAsk:
    """The evaluation's stop check (``StopSignals.arrived``), counting how often it is asked and
    sending this process a real SIGTERM just before its ``at``-th answer."""

    def __init__(self, signals: StopSignals, at: int) -> None:
        self.check: Callable[[], bool] = signals.arrived()
        self.at, self.asks = at, 0

    def __call__(self) -> bool:
        self.asks += 1
        if self.asks == self.at:
            signal.raise_signal(signal.SIGTERM)
        return self.check()


def test_a_signal_before_the_kth_step_abandons_the_batch() -> None:
    model = tiny(12, seed=0)
    src = torch.randint(4, 12, (16, 9))
    src[:, -1] = 2  # each source ends with </s>
    never = SignalOnAsk(StopSignals(), at=0)
    finished = beam_search(model, src, SETTINGS, stop=never)
    assert len(finished) == 16 and all(finished), "without a signal every sentence decodes"
    assert never.asks > 5, "a search of several steps, asked before each"
    with StopSignals() as signals:
        stop = SignalOnAsk(signals, at=4)
        with pytest.raises(EvaluationStopped):
            beam_search(model, src, SETTINGS, stop=stop)
    assert signals.received == signal.SIGTERM
    assert stop.asks == 4, "stopped before the fourth decoding step, not at the batch's end"


def test_an_evaluation_stops_inside_its_first_beam_search_batch(tmp_path: Path) -> None:
    write_iwslt14(tmp_path, longest=12)
    task = make(tmp_path, "task.generation.beam=2")
    final = Evaluation(1, final=True, full=True)
    with StopSignals() as signals:
        stop = SignalOnAsk(signals, at=3)  # before the first batch, decoding steps 0 and 1
        with pytest.raises(EvaluationStopped):
            evaluate(task, task.model, SINGLE_PROCESS, torch.device("cpu"), LoopOptions(), final,
                     stop=stop)  # fmt: skip
    assert stop.asks == 3, "abandoned inside the first batch, before its third decoding step"
    assert task.model.training, "the model is put back in training mode"

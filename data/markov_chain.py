"""A random Markov chain over a small vocabulary: a synthetic language-modelling corpus whose best
achievable perplexity is known exactly.

An order-``n`` chain over ``V`` tokens has ``V^n`` states (the last ``n`` tokens). Each state's
next-token distribution puts mass ``1 − floor`` on ``successors`` tokens drawn without
replacement, with Dirichlet(``concentration``) weights (sparse, peaked rows, like word bigrams),
and ``floor / V`` on every token, so the chain is irreducible and aperiodic and has one
stationary distribution π. Its entropy rate (Cover & Thomas, *Elements of Information Theory*,
Thm. 4.2.4) is ``H = Σ_s π(s) H(P(· | s))`` nats per token: no model of the stream has a lower
expected per-token loss, so ``exp(H)`` is the best achievable perplexity. ``oracle_loss`` also
gives the true model's mean loss on a drawn stream (the realised optimum of a finite test split).

Everything is a pure function of ``seed`` (``numpy.random.default_rng``): every run of a task
shares one corpus whatever its training seed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from data import DataError


@dataclass(frozen=True)
class MarkovChain:
    """``transitions[s, t]`` = P(next token t | state s); state s = the last ``order`` tokens
    read as a base-``vocabulary`` number (the oldest token most significant)."""

    vocabulary: int
    order: int
    transitions: np.ndarray

    @property
    def states(self) -> int:
        return self.vocabulary**self.order

    def next_state(self, state: int, token: int) -> int:
        return (state * self.vocabulary + token) % self.states


def random_chain(
    vocabulary: int, order: int, successors: int, concentration: float, floor: float, seed: int
) -> MarkovChain:
    """A chain with sparse, peaked rows (module docstring)."""
    if vocabulary < 2 or order < 1 or not 1 <= successors <= vocabulary:
        raise DataError(
            f"a Markov chain needs vocabulary >= 2, order >= 1 and 1 <= successors <= "
            f"vocabulary (got {vocabulary}, {order}, {successors})"
        )
    if not 0.0 < floor < 1.0 or concentration <= 0.0:
        raise DataError(
            f"floor must be in (0, 1) and concentration > 0 (got {floor}, {concentration})"
        )
    rng = np.random.default_rng(seed)
    states = vocabulary**order
    transitions = np.full((states, vocabulary), floor / vocabulary)
    for state in range(states):
        chosen = rng.choice(vocabulary, size=successors, replace=False)
        transitions[state, chosen] += (1.0 - floor) * rng.dirichlet([concentration] * successors)
    return MarkovChain(vocabulary, order, transitions)


def stationary(chain: MarkovChain, tolerance: float = 1e-13, limit: int = 100_000) -> np.ndarray:
    """π over states by power iteration: mass in state s = (a, rest) flows to (rest, t) with
    ``transitions[s, t]`` (converges: the floor makes the chain primitive)."""
    pi = np.full(chain.states, 1.0 / chain.states)
    tail = chain.states // chain.vocabulary
    for _ in range(limit):
        flow = pi[:, None] * chain.transitions
        new = flow.reshape(chain.vocabulary, tail, chain.vocabulary).sum(axis=0).reshape(-1)
        if np.abs(new - pi).sum() < tolerance:
            return new
        pi = new
    raise DataError("the Markov chain's stationary distribution did not converge")


def entropy_rate(chain: MarkovChain) -> float:
    """H = Σ_s π(s) Σ_t −P(t|s) log P(t|s), in nats per token."""
    row_entropy = -(chain.transitions * np.log(chain.transitions)).sum(axis=1)
    return float(stationary(chain) @ row_entropy)


def sample(chain: MarkovChain, length: int, seed: int) -> np.ndarray:
    """``length`` tokens of the chain started in a state drawn from π (the first ``order``
    tokens spell that state), as int64 ids."""
    rng = np.random.default_rng(seed)
    state = int(rng.choice(chain.states, p=stationary(chain)))
    cumulative = np.cumsum(chain.transitions, axis=1)
    cumulative[:, -1] = 1.0
    draws = rng.random(length).tolist()
    rows = cumulative.tolist()
    tokens = [0] * length
    digits = [(state // chain.vocabulary**k) % chain.vocabulary for k in range(chain.order)]
    for index in range(min(chain.order, length)):
        tokens[index] = digits[chain.order - 1 - index]
    for index in range(chain.order, length):
        token = bisect.bisect_right(rows[state], draws[index])
        tokens[index] = token
        state = chain.next_state(state, token)
    return np.asarray(tokens, dtype=np.int64)


def oracle_loss(chain: MarkovChain, tokens: np.ndarray) -> float:
    """The true model's mean negative log-likelihood of ``tokens[order:]`` given their history,
    in nats: the loss of a perfect model on this stream."""
    order, vocabulary = chain.order, chain.vocabulary
    states = np.zeros(len(tokens) - order, dtype=np.int64)
    for k in range(order):
        states = states * vocabulary + tokens[k : len(tokens) - order + k]
    return float(-np.log(chain.transitions[states, tokens[order:]]).mean())

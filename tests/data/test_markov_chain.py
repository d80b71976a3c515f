"""The Markov-chain corpus (data/markov_chain.py): its entropy rate against a brute-force block
entropy of a tiny chain, its stationary law against an eigenvector, its samples against the
chain, and its determinism."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from data import DataError
from data.markov_chain import (
    MarkovChain,
    entropy_rate,
    oracle_loss,
    random_chain,
    sample,
    stationary,
)


def full_transition_matrix(chain: MarkovChain) -> np.ndarray:
    """The chain as an ordinary Markov chain over its states (V^n × V^n)."""
    matrix = np.zeros((chain.states, chain.states))
    for state, token in itertools.product(range(chain.states), range(chain.vocabulary)):
        matrix[state, chain.next_state(state, token)] += chain.transitions[state, token]
    return matrix


def eigenvector_stationary(chain: MarkovChain) -> np.ndarray:
    values, vectors = np.linalg.eig(full_transition_matrix(chain).T)
    vector = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
    return vector / vector.sum()


def block_entropy(chain: MarkovChain, length: int) -> float:
    """H(X_1 … X_length) of the stationary chain, by enumerating every sequence."""
    pi = eigenvector_stationary(chain)
    order, total = chain.order, 0.0
    for sequence in itertools.product(range(chain.vocabulary), repeat=length):
        state = 0
        for token in sequence[:order]:
            state = state * chain.vocabulary + token
        p = pi[state]
        for token in sequence[order:]:
            p *= chain.transitions[state, token]
            state = chain.next_state(state, token)
        total -= p * math.log(p)
    return total


@pytest.mark.parametrize("order", [1, 2])
def test_entropy_rate_equals_the_brute_force_conditional_block_entropy(order: int) -> None:
    """For a stationary order-n chain, H(X_1..X_L) − H(X_1..X_{L−1}) = H(X_L | past) is the
    entropy rate for every L > n (Cover & Thomas, Thm. 4.2.1)."""
    chain = random_chain(3, order, 2, 0.7, 0.05, seed=4)
    length = order + 2
    brute = block_entropy(chain, length) - block_entropy(chain, length - 1)
    assert entropy_rate(chain) == pytest.approx(brute, rel=1e-9)
    assert stationary(chain) == pytest.approx(eigenvector_stationary(chain), abs=1e-10)


def test_rows_are_distributions_and_sparse_rows_peak() -> None:
    chain = random_chain(16, 2, 3, 0.5, 0.02, seed=0)
    assert chain.transitions.sum(axis=1) == pytest.approx(np.ones(256))
    assert ((chain.transitions > 0.02 / 16 + 1e-12).sum(axis=1) <= 3).all()
    assert 0.0 < entropy_rate(chain) < math.log(3)


def test_samples_follow_the_chain_and_the_oracle_loss_approaches_the_entropy_rate() -> None:
    chain = random_chain(8, 1, 2, 0.5, 0.05, seed=1)
    tokens = sample(chain, 200_000, seed=2)
    assert tokens.dtype == np.int64 and tokens.min() >= 0 and tokens.max() < 8
    pairs = np.zeros((8, 8))
    np.add.at(pairs, (tokens[:-1], tokens[1:]), 1.0)
    visits = pairs.sum(axis=1, keepdims=True)
    p = chain.transitions
    sigma = np.sqrt(p * (1 - p) / visits)  # the binomial spread of each estimated cell
    assert (np.abs(pairs / visits - p) < 5 * sigma + 1e-3).all()
    assert oracle_loss(chain, tokens) == pytest.approx(entropy_rate(chain), rel=0.01)


def test_the_chain_and_its_samples_are_functions_of_their_seeds() -> None:
    first, again = random_chain(8, 2, 3, 0.5, 0.02, 7), random_chain(8, 2, 3, 0.5, 0.02, 7)
    assert np.array_equal(first.transitions, again.transitions)
    assert np.array_equal(sample(first, 500, 3), sample(again, 500, 3))
    assert not np.array_equal(sample(first, 500, 3), sample(first, 500, 4))


def test_bad_chain_settings_are_refused() -> None:
    with pytest.raises(DataError, match="successors"):
        random_chain(4, 1, 5, 0.5, 0.02, 0)
    with pytest.raises(DataError, match="floor"):
        random_chain(4, 1, 2, 0.5, 0.0, 0)

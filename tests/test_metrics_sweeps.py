"""cvtutor.metrics: the Pareto front of a sweep of runs and cosine similarity."""

import numpy as np
import pytest

from cvtutor.metrics import cosine_similarity, pareto_front


# pareto_front ----------------------------------------------------------------


def test_pareto_front_by_hand():
    cost = [1, 2, 3, 4, 5]
    accuracy = [0.5, 0.4, 0.6, 0.6, 0.7]
    # 2 is beaten by the cheaper 1; 4 only ties the cheaper 3.
    assert pareto_front(cost, accuracy).tolist() == [0, 2, 4]


def test_pareto_front_order_ties_and_single():
    assert pareto_front([5, 1, 3], [0.9, 0.2, 0.5]).tolist() == [1, 2, 0]
    # Equal cost: only the more accurate one.
    assert pareto_front([2, 2, 1], [0.3, 0.6, 0.1]).tolist() == [2, 1]
    assert pareto_front([7.0], [0.1]).tolist() == [0]


def test_pareto_front_property_random():
    rng = np.random.default_rng(0)
    cost, accuracy = rng.random(50), rng.random(50)
    front = pareto_front(cost, accuracy)
    assert np.all(np.diff(cost[front]) >= 0) and np.all(np.diff(accuracy[front]) > 0)
    for i in range(50):
        beaten = np.any((cost <= cost[i]) & (accuracy >= accuracy[i]) & (np.arange(50) != i))
        assert (i in front) == (not beaten)


@pytest.mark.parametrize("cost, accuracy", [([], []), ([1, 2], [0.5]), ([[1, 2]], [[0.1, 0.2]]), ([1, np.nan], [0.1, 0.2])])
def test_pareto_front_bad_input(cost, accuracy):
    with pytest.raises(ValueError):
        pareto_front(cost, accuracy)



# cosine_similarity ---------------------------------------------------------------


def test_cosine_similarity_by_hand():
    sim = cosine_similarity([[1, 0], [0, 2], [-3, 0], [1, 1]])
    assert sim.shape == (4, 4)
    np.testing.assert_allclose(np.diag(sim), 1.0)
    assert sim[0, 1] == pytest.approx(0.0) and sim[0, 2] == pytest.approx(-1.0)
    assert sim[0, 3] == pytest.approx(1 / np.sqrt(2))
    np.testing.assert_allclose(sim, sim.T)


@pytest.mark.parametrize("vectors", [np.zeros((0, 3)), np.ones(3), [[1, 0], [0, 0]]])
def test_cosine_similarity_bad_input(vectors):
    with pytest.raises(ValueError):
        cosine_similarity(vectors)

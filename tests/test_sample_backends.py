"""nnlab.nn.sample's two ways of stepping a character model, numpy for
short samples and the fused Numba kernel for long ones, draw the same
characters."""

import numpy as np
import pytest

from nnlab.nn.charlm import CharLM
from nnlab.nn.sample import FUSED_FROM, Sampler


def draw(model, expected, prime, n, seed, **kw):
    s = Sampler(model, expected)
    s.feed(prime)
    ids = s.generate(n, np.random.Generator(np.random.PCG64(seed)), **kw)
    return ids, s


# float32 only, the type models are trained and sampled in (a float64 run
# would also compile a float64 variant of the kernel, for ~8 s of CI).
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("kw", [{}, {"temperature": 0.7}, {"temperature": 2.0, "top_k": 3},
                                {"greedy": True}], ids=["t1", "t0.7", "top3", "argmax"])
def test_numpy_and_fused_draw_the_same_characters(cell, kw):
    m = CharLM(11, cell=cell, hidden=24, layers=2).init(np.random.default_rng(2))
    prime = np.array([3, 1, 4, 1, 5])
    fused, a = draw(m, None, prime, 300, 7, **kw)
    plain, b = draw(m, 1, prime, 300, 7, **kw)
    assert a.fused and not b.fused
    # The kernel's tanh approximation moves the scores by ~1e-7, far too
    # little to move a draw in 300 characters of this model.
    assert np.array_equal(fused, plain)
    np.testing.assert_allclose(a.h, b.h, atol=1e-5)
    np.testing.assert_allclose(a.logits, b.logits, atol=1e-5)


def test_the_kernel_is_used_from_fused_from_characters():
    m = CharLM(5, hidden=8, layers=1).init(np.random.default_rng(0))
    assert not Sampler(m, FUSED_FROM - 1).fused
    assert Sampler(m, FUSED_FROM).fused and Sampler(m).fused


def test_a_draw_at_the_very_top_takes_the_last_candidate():
    """u * total can round up to the total; both then take the last
    character with a non-zero probability, as the kernel does."""
    from nnlab.kernels.generate import _pick
    from nnlab.nn.sample import pick

    logits = np.array([0.0, 3.0, -50.0, 1.0], np.float32)
    for u in (0.0, 0.5, np.nextafter(1.0, 0.0)):
        for top_k in (0, 2):
            assert pick(logits, 1.0, top_k, False, u) == _pick(logits, 1.0, top_k, False, u)
    assert pick(logits, 1.0, 2, False, np.nextafter(1.0, 0.0)) == 3

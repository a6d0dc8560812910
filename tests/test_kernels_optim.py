"""adam_step and sgd_step against a numpy transcription of PyTorch's
update rules (torch.optim.AdamW, torch.optim.SGD) over several steps, in
float32 and float64, with and without weight decay / momentum / Nesterov;
plus input validation.

The reference runs in float64 from the same starting values; float64 kernels
must agree to 1e-13, float32 ones to float32 rounding accumulated over the
steps: 2e-6 relative, with an absolute floor of 2e-6 times the largest entry
(the gradients span 1e-3..10, so momentum buffers cancel). Adam in float32 is
allowed 2e-5 relative: the kernel computes 1 - b2 in float32 from
float32(0.999), which is 1.3e-5 off 0.001, where PyTorch passes 1 - beta2 as
a double; v, and the step through sqrt(v), carry that systematic 1.3e-5 /
6e-6 relative difference.
"""

import numpy as np
import pytest

import reference_optim as ref
from nnlab.kernels.optim import adam_step, average_step, sgd_step

DTYPES = [np.float64, np.float32]
RTOL = {np.float64: 1e-13, np.float32: 2e-6}
ADAM_RTOL32 = 2e-5
STEPS = 6


def assert_near(actual, expected, rtol, what):
    """|actual - expected| <= rtol * (|expected| + max |expected|), elementwise."""
    atol = rtol * float(np.max(np.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def gradients(rng, shape, steps, dtype):
    """A gradient per step, with an exact zero in the first (v = 0 there)."""
    gs = [(rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 2, shape)).astype(dtype)
          for _ in range(steps)]
    gs[0].reshape(-1)[0] = 0
    return gs


ADAM_CASES = [
    pytest.param(dict(lr=1e-3), id="defaults"),
    pytest.param(dict(lr=1e-2, decay=0.05), id="decay"),
    pytest.param(dict(lr=3e-2, b1=0.8, b2=0.99, eps=1e-6, decay=0.01), id="all-set"),
    pytest.param(dict(lr=0.1, b1=0.0, b2=0.5, eps=1e-3), id="b1=0"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (300,)], ids=str)
@pytest.mark.parametrize("hyper", ADAM_CASES)
def test_adam_matches_pytorch_formulas(threads, hyper, shape, dtype):
    rng = np.random.default_rng(len(shape) + int(1000 * hyper["lr"]))
    p = rng.standard_normal(shape).astype(dtype)
    m = np.zeros(shape, dtype)
    v = np.zeros(shape, dtype)
    rp, rm, rv = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    for t, g in enumerate(gradients(rng, shape, STEPS, dtype), start=1):
        adam_step(p, g, m, v, t=t, **hyper)
        rp, rm, rv = ref.adam_step(rp, g.astype(np.float64), rm, rv, t=t, **hyper)
        rtol = RTOL[dtype] if dtype == np.float64 else ADAM_RTOL32
        for name, a, r in [("p", p, rp), ("m", m, rm), ("v", v, rv)]:
            assert a.dtype == dtype and a.shape == shape, name
            assert_near(a, r, rtol, f"{name} at step {t}")


def test_adam_first_step_moves_lr_against_the_sign():
    """Bias correction: at t = 1, m / sqrt(v) is g / |g|, so every entry moves
    by lr (less eps's share) against its gradient, whatever the gradient's size."""
    p = np.zeros(4)
    g = np.array([1e-3, -2.0, 50.0, -1e-2])
    adam_step(p, g, np.zeros(4), np.zeros(4), lr=0.01, t=1, eps=1e-12)
    np.testing.assert_allclose(p, -0.01 * np.sign(g), rtol=1e-8)


def test_adam_decay_is_decoupled():
    """With g = 0 only AdamW's decay acts: p *= 1 - lr * decay, m and v stay 0."""
    p = np.array([1.0, -2.0, 3.0])
    m, v = np.zeros(3), np.zeros(3)
    for t in range(1, 4):
        adam_step(p, np.zeros(3), m, v, lr=0.1, t=t, decay=0.5)
    np.testing.assert_allclose(p, np.array([1.0, -2.0, 3.0]) * 0.95 ** 3, rtol=1e-14)
    np.testing.assert_array_equal(m, 0)
    np.testing.assert_array_equal(v, 0)


SGD_CASES = [
    pytest.param(dict(lr=0.1, momentum=0.0), id="plain"),
    pytest.param(dict(lr=0.05, momentum=0.9), id="momentum"),
    pytest.param(dict(lr=0.05, momentum=0.9, decay=1e-2), id="momentum-decay"),
    pytest.param(dict(lr=0.05, momentum=0.9, nesterov=True), id="nesterov"),
    pytest.param(dict(lr=0.02, momentum=0.5, decay=0.1, nesterov=True), id="nesterov-decay"),
    pytest.param(dict(lr=0.1, momentum=0.0, decay=0.1), id="decay-only"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (300,)], ids=str)
@pytest.mark.parametrize("hyper", SGD_CASES)
def test_sgd_matches_pytorch_formulas(threads, hyper, shape, dtype):
    rng = np.random.default_rng(len(shape) + int(100 * hyper["lr"]))
    p = rng.standard_normal(shape).astype(dtype)
    buf = np.zeros(shape, dtype)                 # the kernel's buffer starts at zero
    rp, rbuf = p.astype(np.float64), None        # PyTorch's starts as the first gradient
    for t, g in enumerate(gradients(rng, shape, STEPS, dtype), start=1):
        sgd_step(p, g, buf, **hyper)
        rp, rbuf = ref.sgd_step(rp, g.astype(np.float64), rbuf, **hyper)
        assert p.dtype == dtype and buf.dtype == dtype
        assert_near(p, rp, RTOL[dtype], f"p at step {t}")
        if hyper["momentum"]:
            assert_near(buf, rbuf, RTOL[dtype], f"buf at step {t}")


def test_sgd_first_step_with_momentum_is_plain_sgd():
    p = np.array([1.0, -1.0])
    g = np.array([0.5, 2.0])
    buf = np.zeros(2)
    sgd_step(p, g, buf, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(p, [0.95, -1.2], rtol=1e-15)
    np.testing.assert_array_equal(buf, g)


def test_optimizers_reject_mismatched_state():
    p = np.zeros((2, 3))
    ok = np.zeros((2, 3))
    for bad in [np.zeros((3, 2)), np.zeros(6), np.zeros((2, 3), np.float32),
                np.zeros((3, 2)).T]:                              # the last is not C-contiguous
        for args in [(bad, ok, ok), (ok, bad, ok), (ok, ok, bad)]:
            with pytest.raises(ValueError):
                adam_step(p, *args, lr=0.1, t=1)
        for args in [(bad, ok), (ok, bad)]:
            with pytest.raises(ValueError):
                sgd_step(p, *args, lr=0.1)
    np.testing.assert_array_equal(p, 0)
    np.testing.assert_array_equal(ok, 0)


@pytest.mark.parametrize("t", [0, -1])
def test_adam_rejects_step_below_one(t):
    with pytest.raises(ValueError):
        adam_step(np.zeros(2), np.ones(2), np.zeros(2), np.zeros(2), lr=0.1, t=t)


@pytest.mark.parametrize("which", ["adam", "sgd"])
def test_optimizers_refuse_non_contiguous_params(which):
    # reshape(-1) of a transposed view is a copy, so an in-place update would
    # be lost; the kernels refuse rather than silently skip the update.
    p = np.ones((4, 6)).T                        # a transposed view: F-contiguous
    g = np.ones((6, 4))
    with pytest.raises(ValueError, match="contiguous"):
        if which == "adam":
            adam_step(p, g, np.zeros((6, 4)), np.zeros((6, 4)), lr=0.1, t=1)
        else:
            sgd_step(p, g, np.zeros((6, 4)), lr=0.1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)], ids=str)
def test_average_step_matches_numpy(threads, shape, dtype):
    rng = np.random.default_rng(len(shape))
    acc = rng.standard_normal(shape).astype(dtype)
    p = rng.standard_normal(shape).astype(dtype)
    d = 0.97
    want = dtype(d) * acc + dtype(1 - d) * p
    average_step(acc, p, d)
    np.testing.assert_allclose(acc, want, rtol=1e-15 if dtype == np.float64 else 1e-6, atol=0)
    with pytest.raises(ValueError, match="acc must be"):
        average_step(acc[:1], p, d)

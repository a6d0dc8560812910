"""embed_project_forward / embed_project_backward: an embedding followed by
the first layer's input weights, out = E[ids] @ W.

The kernel takes one of two paths: with more ids than vocabulary rows it
forms the (V, G) table E @ W and gathers from it ("table"), otherwise it
gathers the embedded rows and multiplies ("rows"). Both are checked against
plain numpy, against each other, and by float64 central differences.
"""

import numpy as np
import pytest

import reference_embedding as ref
from gradcheck import check_grad, grid, numeric_grad_array
from nnlab.kernels import embed_project_backward, embed_project_forward

# (ids shape, V, D, G, path): the path follows from ids.size against V.
CASES = [
    pytest.param((6, 4), 5, 3, 8, "table", id="table-6x4-V5-D3-G8"),
    pytest.param((3, 2, 5), 7, 4, 33, "table", id="table-3x2x5-V7-D4-G33"),
    pytest.param((3,), 9, 5, 6, "rows", id="rows-3-V9-D5-G6"),
    pytest.param((2, 2), 4, 2, 40, "rows", id="rows-2x2-V4-D2-G40"),
    pytest.param((1,), 1, 1, 1, "rows", id="rows-1-V1-D1-G1"),
]


def path_of(cache):
    return "table" if cache[3] is None else "rows"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,V,D,G,path", CASES)
def test_matches_numpy(threads, shape, V, D, G, path, dtype):
    rng = np.random.default_rng(V * 7 + D + G)
    ids = rng.integers(0, V, shape)
    E = rng.standard_normal((V, D)).astype(dtype)
    W = rng.standard_normal((D, G)).astype(dtype)
    out, cache = embed_project_forward(ids, E, W)
    assert path_of(cache) == path
    assert out.shape == shape + (G,) and out.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    want = ref.embed_project_forward(ids, E.astype(np.float64), W.astype(np.float64))
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dE, dW = embed_project_backward(dout, cache)
    assert dE.shape == (V, D) and dW.shape == (D, G) and dE.dtype == dW.dtype == dtype
    wE, wW = ref.embed_project_backward(dout.astype(np.float64), ids, E.astype(np.float64),
                                        W.astype(np.float64))
    scale = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(dE, wE, rtol=scale, atol=scale * np.abs(wE).max())
    np.testing.assert_allclose(dW, wW, rtol=scale, atol=scale * np.abs(wW).max())


@pytest.mark.parametrize("shape,V,D,G,path", CASES)
def test_gradcheck(threads, shape, V, D, G, path):
    rng = np.random.default_rng(V + D + G)
    ids = rng.integers(0, V, shape)
    E, W = grid(rng, (V, D)), grid(rng, (D, G))
    out, cache = embed_project_forward(ids, E.copy(), W.copy())
    R = grid(rng, out.shape)
    dE, dW = embed_project_backward(R, cache)
    f = lambda: embed_project_forward(ids, E, W)[0]  # noqa: E731
    check_grad(f"embed_project {path} dE", dE, numeric_grad_array(f, E, R))
    check_grad(f"embed_project {path} dW", dW, numeric_grad_array(f, W, R))


def test_both_paths_agree(threads):
    """The same ids, weights and gradient through either path: the same
    output and gradients (the table path is taken when ids outnumber V)."""
    rng = np.random.default_rng(3)
    V, D, G = 6, 5, 12
    E, W = rng.standard_normal((V, D)), rng.standard_normal((D, G))
    ids = rng.integers(0, V, (4, 3))                   # 12 ids > V: table
    out_t, cache_t = embed_project_forward(ids, E, W)
    assert path_of(cache_t) == "table"
    parts = [embed_project_forward(ids[i:i + 1], E, W) for i in range(4)]  # 3 ids: rows
    assert all(path_of(c) == "rows" for _, c in parts)
    np.testing.assert_allclose(out_t, np.concatenate([o for o, _ in parts]), rtol=1e-12)
    dout = rng.standard_normal(out_t.shape)
    dE_t, dW_t = embed_project_backward(dout, cache_t)
    grads = [embed_project_backward(dout[i:i + 1], c) for i, (_, c) in enumerate(parts)]
    np.testing.assert_allclose(dE_t, sum(g[0] for g in grads), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW_t, sum(g[1] for g in grads), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("args, error", [
    ((np.zeros(3, np.int64), np.zeros((4, 2)), np.zeros((3, 5))), "do not fit"),
    ((np.zeros(3, np.int64), np.zeros((4, 2)), np.zeros((2, 5), np.float32)), "float64"),
    ((np.array([0, 4]), np.zeros((4, 2)), np.zeros((2, 5))), r"\[0, 4\)"),
    ((np.array([0.5]), np.zeros((4, 2)), np.zeros((2, 5))), "integers"),
])
def test_rejects_bad_input(args, error):
    with pytest.raises((ValueError, TypeError), match=error):
        embed_project_forward(*args)


def test_backward_checks_the_gradient_shape():
    _, cache = embed_project_forward(np.array([1, 2, 0, 1, 3]), np.ones((4, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="5 rows of 3"):
        embed_project_backward(np.ones((4, 3)), cache)

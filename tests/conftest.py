"""Shared fixtures: tiny datasets made on the spot (tests never read ../shared)."""

import nnlab

# The same thread settings and kernel cache as the nnlab command, whichever
# test module happens to import numba first.
nnlab.prepare_runtime()

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnlab.data.idx import write_idx  # noqa: E402

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def toy_digits(n, seed, size=28):
    """Learnable 28x28 images: class k lights a 6x6 patch at a spot of its own."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 60, (n, size, size)).astype(np.uint8)
    for i, k in enumerate(y):
        r, c = 2 + (k // 5) * 12, 2 + (k % 5) * 5
        x[i, r:r + 6, c:c + 6] = 200 + rng.integers(0, 56)
    return x, y


def write_dataset(folder, n_train=256, n_test=64, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    tx, ty = toy_digits(n_train, seed)
    vx, vy = toy_digits(n_test, seed + 1)
    for role, arr in (("train_images", tx), ("train_labels", ty),
                      ("test_images", vx), ("test_labels", vy)):
        write_idx(folder / MNIST_FILES[role], arr)
    return folder


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """A folder with a 256/64-image MNIST look-alike."""
    return write_dataset(tmp_path_factory.mktemp("tiny_mnist"))


@pytest.fixture
def no_user_data(tmp_path, monkeypatch):
    """Keeps tests away from the real cache folder and $NNLAB_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("NNLAB_DATA", raising=False)


class FakeClock:
    """Stands in for nnlab.nn.clock.now: every reading advances it by ``tick``
    seconds, so a --time-limit stops a run at the same step on any machine."""

    def __init__(self, tick):
        self.tick, self.t, self.readings = tick, 0.0, 0

    def __call__(self):
        self.readings += 1
        self.t += self.tick
        return self.t


@pytest.fixture
def fake_clock(monkeypatch):
    """fake_clock(tick) installs a FakeClock in the trainers and returns it."""
    def install(tick):
        from nnlab.nn import clock

        fake = FakeClock(tick)
        monkeypatch.setattr(clock, "now", fake)
        return fake
    return install

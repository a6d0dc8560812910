"""Shared fixtures, and nothing else: helpers live in helper modules
(tinydata.py, gradcheck.py, clirun.py, ...), which tests import; no module
imports conftest."""

import os

from nnlab.runtime import prepare_runtime

# The same thread settings and kernel cache as the nnlab command, whichever
# test module happens to import numba first.
prepare_runtime()
# No "compiling kernels" line (cli/compiling.py): with a cold cache it would
# land on the stderr of whichever test compiles a kernel first, in this
# process or in the nnlab processes the tests start. test_compiling.py turns
# it back on where it checks it.
os.environ["NNLAB_COMPILE_NOTICE"] = "0"

import pytest  # noqa: E402

from fakeclock import FakeClock  # noqa: E402
from gradcheck import numba_threads  # noqa: E402
from tinydata import write_dataset  # noqa: E402


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory):
    """A folder with a 256/64-image MNIST look-alike."""
    return write_dataset(tmp_path_factory.mktemp("tiny_mnist"))


@pytest.fixture
def no_user_data(tmp_path, monkeypatch):
    """Keeps tests away from the real cache folder and $NNLAB_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("NNLAB_DATA", raising=False)


@pytest.fixture
def fake_clock(monkeypatch):
    """fake_clock(tick) installs a FakeClock in the trainers and returns it."""
    def install(tick):
        from nnlab.nn import clock

        fake = FakeClock(tick)
        monkeypatch.setattr(clock, "now", fake)
        return fake
    return install


@pytest.fixture
def threads(request):
    """Run the test with request.param Numba threads (default 2, the chunking
    case; capped at the pool size); parametrize it with indirect=True."""
    with numba_threads(getattr(request, "param", 2)) as n:
        yield n

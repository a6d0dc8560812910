"""Rows of tests/test_hostile_inputs.py for issue 12, items 2, 7, 8 and 9:
architectures too large for memory, data that is another dataset's, a
text of one distinct character, and options that did nothing or harm.

A helper module of rows (CASES), not a test module. What needs more than one
command, or must succeed (a divergence, a time limit, --threads, resuming
from NAME.best.npz), has focused tests: tests/test_diverged_runs.py,
tests/test_time_budget.py, tests/test_run_options.py.
"""

import dataclasses
import gzip
import hashlib
import shutil

from tinydata import MNIST_FILES
from hostile import Case
from hostile_makers import CNN_TRAIN, LM_TRAIN, checkpoint, copy_of, several, text_file

LM = ("train-charlm", "{base}/poem.txt", *LM_TRAIN)
CNN = ("train-cnn", *CNN_TRAIN)
BADDATA = ("--data", "{w}/baddata", "--no-download", "--epochs", "1", "--batch-size", "32")
MEMORY = "memory available"
KB = 1 << 10
GB = 1 << 30  # what the rows' machine has, so that no row depends on this one's memory


# -- the tiny dataset as one of the known ones --------------------------------------------


def known_as(name):
    """A patch: the base's tiny dataset is, by its checksums, ``name``'s files
    (the real ones cannot be in the tests), each file in its own role."""
    def patch(monkeypatch, base):
        from nnlab.data import datasets

        sums = {}
        for role, filename in MNIST_FILES.items():
            raw = gzip.decompress((base.data / filename).read_bytes())
            sums[role] = hashlib.md5(raw).hexdigest()
        info = dataclasses.replace(datasets.DATASETS[name], content_md5=sums)
        monkeypatch.setitem(datasets.DATASETS, name, info)
    return patch


def raw_copy(w, base):
    """baddata/: the tiny dataset unpacked, as a user who ran gunzip has it."""
    (w / "baddata").mkdir()
    for filename in MNIST_FILES.values():
        raw = gzip.decompress((base.data / filename).read_bytes())
        (w / "baddata" / filename[:-3]).write_bytes(raw)


def train_and_test_swapped(w, base):
    """baddata/: the tiny dataset with its training and test files swapped."""
    (w / "baddata").mkdir()
    for kind in ("images", "labels"):
        train, test = MNIST_FILES[f"train_{kind}"], MNIST_FILES[f"test_{kind}"]
        shutil.copy(base.data / train, w / "baddata" / test)
        shutil.copy(base.data / test, w / "baddata" / train)


def copy_data(w, base):
    shutil.copytree(base.data, w / "baddata")


CASES = [
    # ---- item 2: architectures and batches too large for memory, refused before building
    Case("cnn-resnet-depth-100000", (*CNN, "--arch", "resnet", "--depth", "100000"), 2,
         ("--depth", MEMORY, "parameters"), max_alloc_mb=64, memory=16 * GB),
    Case("cnn-resnet-width-100000", (*CNN, "--arch", "resnet", "--width", "100000"), 2,
         ("--width", MEMORY), max_alloc_mb=64, memory=16 * GB),
    Case("cnn-lenet-more-than-memory", CNN, 2, ("--batch-size", MEMORY), memory=256 * KB),
    Case("cnn-resume-more-than-memory", ("train-cnn", "--resume", "cnn.npz", "--data", "{data}",
                                         "--no-download", "--epochs", "2"), 1,
         ("cnn.npz", MEMORY), memory=256 * KB),
    Case("eval-cnn-claims-65536-blocks", ("eval", "{w}/bad.npz", "--data", "{data}"), 1,
         ("bad.npz", MEMORY), checkpoint("cnn", meta=lambda m: m["arch"].update(
             name="resnet", args={"depth": 65536, "width": 64})), max_alloc_mb=64,
         memory=16 * GB),
    Case("charlm-layers-10000000", (*LM, "--layers", "10000000"), 2, ("--layers", MEMORY),
         max_alloc_mb=64, memory=16 * GB),
    Case("charlm-embed-huge", (*LM, "--embed", "1000000000"), 2, ("--embed", MEMORY),
         max_alloc_mb=64, memory=16 * GB),
    Case("charlm-batch-more-than-memory", (*LM, "--batch-size", "16", "--seq-len", "16"), 2,
         ("--batch-size", MEMORY), memory=96 * KB),

    # ---- item 8: files that are another dataset's, or another file of the same one
    Case("cnn-fashion-given-mnist-files", ("train-cnn", "--dataset", "fashion-mnist", *BADDATA),
         1, ("train-images", "mnist's training images", "not fashion-mnist's", "--dataset mnist"),
         copy_data, patch=known_as("mnist")),
    Case("cnn-mnist-given-fashion-raw-files", ("train-cnn", *BADDATA), 1,
         ("train-images-idx3-ubyte", "fashion-mnist's training images", "not mnist's"),
         raw_copy, patch=known_as("fashion-mnist")),
    Case("cnn-train-and-test-swapped", ("train-cnn", *BADDATA), 1,
         ("mnist's test images", "not mnist's training images"), train_and_test_swapped,
         patch=known_as("mnist")),
    Case("eval-cnn-on-fashion-files", ("eval", "cnn.npz", "--data", "{w}/baddata",
                                       "--no-download"), 1,
         ("fashion-mnist's", "not mnist's"), copy_data, patch=known_as("fashion-mnist")),
    Case("cnn-resume-on-fashion-files", ("train-cnn", "--resume", "cnn.npz", *BADDATA[:3],
                                         "--epochs", "2"), 1, ("fashion-mnist's", "not mnist's"),
         copy_data, patch=known_as("fashion-mnist")),
    Case("charlm-file-of-newlines", ("train-charlm", "{w}/bad.txt", *LM_TRAIN), 1,
         ("bad.txt", "single distinct character", "'\\n'"), text_file(b"\n" * 500)),
    Case("charlm-stdin-one-letter", ("train-charlm", "-", *LM_TRAIN), 1,
         ("stdin", "single distinct character"), input=b"a" * 300),

    # ---- item 9: options that did nothing, or harm
    Case("charlm-warmup-longer-than-run", (*LM, "--warmup", "10"), 2,
         ("--warmup", "10 steps", "2 steps")),
    Case("cnn-warmup-longer-than-run", (*CNN, "--warmup", "100"), 2,
         ("--warmup", "100 steps", "2 steps")),
    Case("cnn-momentum-with-adam", (*CNN, "--momentum", "0.5"), 2,
         ("--momentum", "--optimizer sgd")),
    Case("cnn-resume-momentum-with-adam", ("train-cnn", "--resume", "cnn.npz", "--data", "{data}",
                                           "--no-download", "--epochs", "2", "--momentum", "0.5"),
         2, ("--momentum", "--optimizer sgd")),
    Case("cnn-depth-with-lenet", (*CNN, "--depth", "3"), 2, ("--depth", "--arch resnet")),
    Case("cnn-width-with-alexnet", (*CNN, "--arch", "alexnet", "--width", "8"), 2,
         ("--width", "--arch resnet", "alexnet")),
    Case("cnn-first-stride-with-lenet", (*CNN, "--first-stride", "2"), 2,
         ("--first-stride", "--arch resnet")),
    Case("cnn-dropout-with-resnet", (*CNN, "--arch", "resnet", "--dropout", "0.2"), 2,
         ("--dropout", "--arch alexnet")),
    Case("charlm-resume-best-beside-its-run", ("train-charlm", "--resume", "{w}/run.best.npz",
                                                "--steps", "4"), 2,
         ("run.best.npz", "run.npz", "--out"),
         several(copy_of("lm", "run.npz"), copy_of("lm", "run.best.npz"))),

    # ---- item 7: --val-chars
    Case("charlm-val-chars-negative", (*LM, "--val-chars", "-1"), 2, ("--val-chars",)),
    Case("charlm-resume-changes-val-chars", ("train-charlm", "--resume", "charlm.npz",
                                             "--val-chars", "10", "--steps", "4"), 2,
         ("val-chars", "200000", "10")),
]

"""Compiling every kernel ahead of the first real run: each task below runs
one model for one step on tiny data, in float32, which makes Numba compile
(or load from its cache) the kernels that the commands will call."""

import numpy as np

from nnlab.kernels import softmax_cross_entropy

from .charlm import CharLM, clip_grad_norm
from .cnn_models import build_cnn
from .evaluate import evaluate_classifier
from .lm_data import evaluate_lm
from .optim import Adam, SGD
from .sample import Sampler


def _cnn(arch, args):
    def run():
        rng = np.random.default_rng(0)
        model = build_cnn(arch, dict(args, image_size=28)).init(rng)
        model.rng = rng
        x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
        y = np.arange(4) % 10
        for opt in (Adam(model.params), SGD(model.params)):
            _, d = softmax_cross_entropy(model.forward(x, train=True), y, 0.1)
            model.backward(d)
            opt.step(model.params, model.grads, 1e-3)
        images = rng.integers(0, 256, (4, 28, 28)).astype(np.uint8)
        evaluate_classifier(model, images, y.astype(np.uint8), 0.1, 0.3, 10)
    return run


def _charlm(cell):
    def run():
        rng = np.random.default_rng(0)
        model = CharLM(5, cell=cell, hidden=8, layers=2, dropout=0.1).init(rng)
        x = rng.integers(0, 5, (3, 2))
        logits, _ = model.forward(x, model.zero_state(2), train=True, rng=rng)
        _, d = softmax_cross_entropy(logits, x.reshape(-1))
        model.backward(d)
        clip_grad_norm(model.grads, 5.0)
        Adam(model.params).step(model.params, model.grads, 1e-3)
        evaluate_lm(model, rng.integers(0, 5, 20), 2, 4)
        sampler = Sampler(model)
        sampler.feed(np.array([1, 2]))
        sampler.generate(3, rng, 0.8, 2)
        sampler.generate(1, rng, greedy=True)
    return run


TASKS = [
    ("LSTM language model", _charlm("lstm")),
    ("vanilla RNN language model", _charlm("rnn")),
    ("LeNet-5", _cnn("lenet5", {})),
    ("AlexNet-style CNN", _cnn("alexnet", {})),
    ("ResNet", _cnn("resnet", {"depth": 1, "width": 4})),
]

"""A CNN's training step with one of the kernel paths chosen since
2026-12-06 switched off, against the code as it is, in one process.

    python bench/step_paths.py --arch resnet --off phases [--rounds 4] [--steps 20]

--off names what "before" goes without:
  phases       strided layers on im2col + GEMM instead of phase planes
               (kernels/conv_phases.py)
  lanes32      Winograd for every layer winograd_suits accepts, as before
               winograd_plan.takes_winograd sent 32 channels in to lanes
  fused-lanes  the fused conv + ReLU + pooling layers' backward on im2col +
               GEMM instead of the lanes kernels
The two alternate, rounds of --steps steps each at batch 64 on random
28x28 images; the figures are ms a step per round and their medians.
nnlab only, in its own runtime settings.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def switches():
    """{name: [(module, attribute, value before)]}."""
    from nnlab.kernels import conv, conv_fused
    from nnlab.kernels.winograd_plan import winograd_suits
    return {"phases": [(conv, "phases_suit", lambda *a: False)],
            "lanes32": [(conv, "takes_winograd", winograd_suits),
                        (conv_fused, "takes_winograd", winograd_suits)],
            "fused-lanes": [(conv_fused, "lanes_suit_backward", lambda *a: False)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="resnet", choices=["lenet5", "alexnet", "resnet"])
    ap.add_argument("--off", required=True, choices=["phases", "lanes32", "fused-lanes"])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=common.THREADS)
    args = ap.parse_args()
    common.nnlab_side(args.threads)
    import numpy as np

    from nnlab.kernels import softmax_cross_entropy
    from nnlab.nn.cnn_models import build_cnn
    from nnlab.nn.optim import Adam

    patches = switches()[args.off]
    now = [(m, name, getattr(m, name)) for m, name, _ in patches]
    states = {"before": patches, "now": now}
    model = build_cnn(args.arch, {"depth": 2, "width": 16} if args.arch == "resnet" else {})
    model = model.init(np.random.default_rng(0))
    model.rng = np.random.default_rng(1)
    opt = Adam(model.params)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)

    def step():
        h = x
        for unit in model.units:
            h = unit.forward(model, h, True)
        _, d = softmax_cross_entropy(h, y)
        for i in range(len(model.units) - 1, -1, -1):
            d = model.units[i].backward(model, d, need_dx=i > 0)
        opt.step(model.params, model.grads, 1e-3)

    def use(state):
        for module, name, value in states[state]:
            setattr(module, name, value)

    ms = {state: [] for state in states}
    for state in states:  # compile both paths first
        use(state)
        step()
        step()
    for _ in range(args.rounds):
        for state in states:
            use(state)
            step()
            t = time.perf_counter()
            for _ in range(args.steps):
                step()
            ms[state].append(1e3 * (time.perf_counter() - t) / args.steps)
    use("now")
    print(f"{args.arch}, batch 64, {args.threads} thread(s), --off {args.off}: ms a step")
    for state, figures in ms.items():
        print(f"{state:<7} " + " ".join(f"{v:6.2f}" for v in figures)
              + f"   median {statistics.median(figures):6.2f}")


if __name__ == "__main__":
    main()

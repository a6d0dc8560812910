"""Training speed of nnlab's CLI trainers, as a user runs them, against the
same network and recipe trained in PyTorch.

    python bench/train.py [--only lenet5,alexnet,resnet,charlm] [--threads 2]
                          [--repeats 3] [--no-torch] [--json]

nnlab's figure is the command a user types (``nnlab train-cnn --arch X``,
``nnlab train-charlm FILE``) with its defaults, timed as a whole process.
PyTorch's is a process of its own (its default environment and
torch.set_num_threads(N) only; common.py) that loads the same data and
trains the same network with the same recipe: the batch, AdamW with the same
decay on the weights, the same learning-rate schedule, label smoothing,
random 2-pixel shifts where nnlab's defaults have them, then the test set's
evaluation; for the character model, the same embedding, dropout, gradient
clipping and weight average.

Each side runs twice, small and large (CNNs: one epoch over the first
``small`` or ``large`` training images; LSTM: ``small`` or ``large``
steps), and the figure is the difference in work over the difference in
wall time. Start-up, loading the data, loading the compiled kernels, the
evaluation and the checkpoint are the same in both runs and cancel out.
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (standard library only: it sets nothing)

BATCH = 64
# (small, large) work per workload: images for the CNNs, steps for the LSTM.
# The differences take 5-15 s on the 2-core machine at 2 threads.
SIZES = {"lenet5": (8192, 57344), "alexnet": (2048, 10240), "resnet": (2048, 8192),
         "charlm": (30, 150)}
NAMES = {"lenet5": "LeNet-5 training, batch 64, AdamW",
         "alexnet": "AlexNet-style training, batch 64, AdamW, shifts",
         "resnet": "ResNet depth 2 width 16 training, batch 64, AdamW, shifts",
         "charlm": "2x256 LSTM training, batch 32, seq 64, AdamW, clip"}
LM_BATCH, LM_SEQ = 32, 64


def nnlab_seconds(workload, size, threads, data, text, folder):
    """Wall time of the whole `nnlab train-...` process."""
    out = os.path.join(folder, "bench.npz")
    if workload == "charlm":
        cmd = ["train-charlm", text, "--steps", str(size), "--eval-every", "100000"]
    else:
        cmd = ["train-cnn", "--arch", workload, "--epochs", "1", "--limit", str(size),
               "--no-download"] + (["--data", data] if data else [])
    cmd = [sys.executable, "-m", "nnlab.cli.main", *cmd, "--threads", str(threads),
           "--out", out, "--force"]
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def torch_seconds(workload, size, threads, data, text):
    """Wall time of the whole PyTorch process (this script's --worker torch)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "torch", "--only", workload,
           "--size", str(size), "--threads", str(threads)]
    cmd += ["--data", data] if data else []
    cmd += ["--text", text] if text else []
    t = time.perf_counter()
    subprocess.run(cmd, env=common.torch_env(), stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def per_second(workload, seconds_of):
    """Work per second from the small and the large run."""
    small, large = SIZES[workload]
    work = (large - small) * (LM_BATCH * LM_SEQ if workload == "charlm" else 1)
    return work / max(seconds_of(large) - seconds_of(small), 1e-9)


def torch_cnn(torch, arch):
    import lenet
    import resnet

    nn = torch.nn
    if arch == "lenet5":
        return lenet.torch_lenet(torch)
    if arch == "resnet":
        return resnet.torch_resnet(torch, 2, 16)
    conv = [(1, 32, True), (32, 64, True), (64, 96, False), (96, 96, False), (96, 64, True)]
    layers = []
    for c_in, c_out, pool in conv:
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
        layers += [nn.MaxPool2d(2)] if pool else []
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(576, 512), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))


def adamw(torch, model, lr, decay):
    """AdamW decaying the weight matrices and kernels only, as nnlab does."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() > 1], "weight_decay": decay},
              {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def cosine(torch, opt, steps, warmup, floor):
    def factor(k):
        if k < warmup:
            return (k + 1) / warmup
        t = (k - warmup) / max(steps - warmup, 1)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def torch_cnn_worker(arch, limit, data_dir, threads):
    """nnlab's train-cnn defaults for ``arch`` (nn/cnn_config.py), in PyTorch."""
    torch = common.torch_side(threads)
    import numpy as np

    from nnlab.data.datasets import load_dataset  # numpy only: no Numba in this process

    data = load_dataset("mnist", data_dir)
    images, labels = data.train_x[:limit], data.train_y[:limit].astype(np.int64)
    scaled = images.astype(np.float32) / 255
    mean, std = float(scaled.mean()), float(scaled.std())
    lr = 1e-3 if arch == "alexnet" else 2e-3
    shifts, smoothing = arch != "lenet5", 0.1 if arch == "resnet" else 0.0
    warmup = min(300, math.ceil(limit / BATCH) // 10) if arch == "resnet" else 0
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = torch_cnn(torch, arch)
    opt = adamw(torch, model, lr, 0.05)
    steps = math.ceil(limit / BATCH)
    sched = cosine(torch, opt, steps, warmup, 0.0)
    model.train()
    for idx in np.array_split(rng.permutation(limit), steps):
        batch = images[idx]
        if shifts:  # a random crop of the zero-padded image, as nn/augment.py
            padded = np.pad(batch, ((0, 0), (2, 2), (2, 2)))
            dy, dx = rng.integers(0, 5, len(idx)), rng.integers(0, 5, len(idx))
            batch = np.stack([p[a:a + 28, b:b + 28] for p, a, b in zip(padded, dy, dx)])
        x = torch.from_numpy((batch.astype(np.float32) / 255 - mean) / std)[:, None]
        loss = torch.nn.functional.cross_entropy(model(x), torch.from_numpy(labels[idx]),
                                                 label_smoothing=smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    test = torch.from_numpy((data.test_x.astype(np.float32) / 255 - mean) / std)[:, None]
    with torch.no_grad():
        correct = sum(int((model(test[i:i + 1000]).argmax(1)
                           == torch.from_numpy(data.test_y[i:i + 1000].astype(np.int64))).sum())
                      for i in range(0, len(test), 1000))
    print(f"test accuracy {correct / len(test):.4f}", file=sys.stderr)


def torch_lm_worker(path, steps, threads):
    """nnlab's train-charlm defaults (nn/charlm_config.py), in PyTorch."""
    torch = common.torch_side(threads)
    import numpy as np

    from nnlab.data.text import Vocab, read_text  # numpy only

    text = read_text(path)
    vocab = Vocab.from_text(text)
    ids = np.asarray(vocab.encode(text), np.int64)
    V, cut = len(vocab), int(len(ids) * 0.9)
    train, val = torch.from_numpy(ids[:cut]), torch.from_numpy(ids[cut:cut + 200_000])
    nn = torch.nn
    torch.manual_seed(0)
    emb, lstm = nn.Embedding(V, 64), nn.LSTM(64, 256, 2, dropout=0.1)
    drop, head = nn.Dropout(0.1), nn.Linear(256, V)
    model = nn.ModuleList([emb, lstm, head])
    opt = adamw(torch, model, 5e-3, 0.0)
    sched = cosine(torch, opt, steps, 0, 0.1)
    average = [p.detach().clone() for p in model.parameters()]
    L = (len(train) - 1) // LM_BATCH
    streams = torch.stack([train[r * L:r * L + L + 1] for r in range(LM_BATCH)])
    state = None
    for k in range(steps):
        lo = (k % (L // LM_SEQ)) * LM_SEQ
        x, y = streams[:, lo:lo + LM_SEQ].T, streams[:, lo + 1:lo + LM_SEQ + 1].T.reshape(-1)
        out, state = lstm(emb(x), state)
        state = tuple(s.detach() for s in state)
        loss = nn.functional.cross_entropy(head(drop(out)).reshape(-1, V), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            torch._foreach_lerp_(average, [p.detach() for p in model.parameters()], 0.005)
    with torch.no_grad():  # the validation at the end, with the averaged weights
        for p, a in zip(model.parameters(), average):
            p.copy_(a)
        n = (len(val) - 1) // 100  # 100 streams, as nnlab's validation batches them
        vx = torch.stack([val[r * n:r * n + n + 1] for r in range(100)]).T
        out, _ = lstm(emb(vx[:-1]))
        loss = nn.functional.cross_entropy(head(out).reshape(-1, V), vx[1:].reshape(-1))
    print(f"validation loss {float(loss):.4f}", file=sys.stderr)


def measure(workloads, repeats=3, use_torch=True, threads=common.THREADS, data=None, text=None):
    """Rows for each workload, nnlab and PyTorch repeats alternated."""
    import lenet
    import resnet

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for w in workloads:
            if w == "charlm" and not text:
                continue
            print(f"{w}, {threads} thread(s):", file=sys.stderr)
            # Compile or load every kernel, and read the data into the page
            # cache, before anything is timed.
            nnlab_seconds(w, SIZES[w][0], threads, data, text, folder)

            def ours(r, w=w):
                return [per_second(w, lambda n: nnlab_seconds(w, n, threads, data, text, folder))]

            def theirs(r, w=w):
                return [per_second(w, lambda n: torch_seconds(w, n, threads, data, text))]

            a, b = common.interleaved(repeats, ours, theirs if use_torch else None)
            flops = {"lenet5": lenet.TRAIN_FLOPS, "alexnet": alexnet_flops(),
                     "resnet": resnet_flops(resnet), "charlm": lm_flops(text)}[w]
            unit = "tok/s" if w == "charlm" else "img/s"
            rows.append(common.Row(NAMES[w], a[0], b[0], unit, flops, threads))
    return rows


def alexnet_flops():
    """6 x the forward multiply-adds (forward, dx, dw), less conv1's dx."""
    convs = [(28, 1, 32), (14, 32, 64), (7, 64, 96), (7, 96, 96), (7, 96, 64)]
    conv = sum(s * s * c_out * c_in * 9 for s, c_in, c_out in convs)
    fc = 576 * 512 + 512 * 512 + 512 * 10
    return 6 * (conv + fc) - 2 * 28 * 28 * 32 * 9


def resnet_flops(resnet):
    from nnlab.nn.cnn_models import build_cnn  # the shapes only: no kernel

    return resnet.train_flops(build_cnn("resnet", {"depth": 2, "width": 16}))


def lm_flops(text):
    if not text:
        return None
    import charlm

    return charlm.flops_per_token(len(charlm.read_ids(text)[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shk = common.default_data("tinyshakespeare")
    ap.add_argument("--only", default=",".join(SIZES), help="comma-separated workloads")
    ap.add_argument("--data", default=common.default_data("mnist"))
    ap.add_argument("--text", default=shk and os.path.join(shk, "input.txt"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--size", type=int, help="(worker) images or steps to train")
    ap.add_argument("--no-torch", action="store_true")
    common.worker_args(ap)
    args = ap.parse_args()
    workloads = args.only.split(",")
    unknown = set(workloads) - set(SIZES)
    if unknown:
        ap.error(f"unknown workload {', '.join(sorted(unknown))} (known: {', '.join(SIZES)})")
    if args.worker == "torch":
        w = workloads[0]
        if w == "charlm":
            return torch_lm_worker(args.text, args.size, args.threads)
        return torch_cnn_worker(w, args.size, args.data, args.threads)
    if args.worker == "nnlab":
        ap.error("the nnlab side is the nnlab command itself: run without --worker")
    version = None if args.no_torch else common.torch_available()
    rows = measure(workloads, args.repeats, version is not None, args.threads, args.data,
                   args.text)
    common.report(rows, version, args)


if __name__ == "__main__":
    main()

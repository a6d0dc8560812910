#!/usr/bin/env python3
"""Train a character model in PyTorch, then hand it to nnlab: the other
direction of `nnlab export`, for the README's `nnlab import`.

    python examples/pytorch_charlm.py TEXT [--minutes 3] [--out torch-lm]

Trains the README's CharLM (nn.Embedding 64, a 2 x 256 nn.LSTM, nn.Linear)
on the first 90% of TEXT with Adam, writes OUT/torch.safetensors (its
state_dict, under the names nnlab import reads), OUT/vocab.json and
OUT/val.txt (the last 10%), and prints PyTorch's own loss on val.txt,
computed the way `nnlab eval` computes it (32 streams, chunks of 64, the
state carried), so the two figures can be compared. Then:

    nnlab import OUT/torch.safetensors OUT/lm.npz --vocab OUT/vocab.json
    nnlab eval OUT/lm.npz OUT/val.txt
    nnlab sample OUT/lm.npz --temp 0.8

Needs torch and safetensors (neither is a dependency of nnlab).
"""

import argparse
import json
import os
import time

import torch
from safetensors.torch import save_file


class CharLM(torch.nn.Module):  # the README's, with an embedding
    def __init__(self, vocab_size, hidden=256, layers=2, embed=64):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab_size, embed)
        self.rnn = torch.nn.LSTM(embed, hidden, layers)
        self.out = torch.nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):  # (T, N) -> (T, N, V)
        h, state = self.rnn(self.embed(ids), state)
        return self.out(h), state


@torch.no_grad()
def stream_loss(model, ids, batch=32, seq=64):
    """Nats per predicted character over all of ``ids``, as nnlab eval
    splits it (nn/lm_data.py:evaluate_lm): ``batch`` streams, then a last
    one-row pass over the remainder."""
    n = len(ids)
    L = (n - 1) // batch
    total = 0.0
    for rows, length, start in ((batch, L, 0), (1, n - 1 - batch * L, batch * L)):
        if length < 1:
            continue
        idx = start + torch.arange(rows)[:, None] * length + torch.arange(length + 1)[None]
        data, state = ids[idx].T, None  # (length + 1, rows)
        for lo in range(0, length, seq):
            x, y = data[lo:lo + seq], data[lo + 1:lo + seq + 1]
            logits, state = model(x[:len(y)], state)
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
    return total / (n - 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("text")
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--out", default="torch-lm")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text])
    cut = int(len(ids) * 0.9)
    train, val = ids[:cut], ids[cut:]
    torch.manual_seed(args.seed)
    model = CharLM(len(chars))
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    start, step = time.perf_counter(), 0
    while time.perf_counter() - start < args.minutes * 60:
        at = torch.randint(0, len(train) - 65, (32,))
        batch = torch.stack([train[a:a + 65] for a in at]).T  # (65, 32)
        logits, _ = model(batch[:-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, len(chars)),
                                                 batch[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
    model.eval()
    os.makedirs(args.out, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(args.out, "torch.safetensors"))
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(chars, f)
    with open(os.path.join(args.out, "val.txt"), "w", encoding="utf-8") as f:
        f.write(text[cut:])
    print(f"PyTorch {torch.__version__}: {step} steps of 32 x 64 in "
          f"{time.perf_counter() - start:.0f} s; val.txt ({len(val):,} characters): "
          f"{stream_loss(model, val):.4f} nats/char")


if __name__ == "__main__":
    main()

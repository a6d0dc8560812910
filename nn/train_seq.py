"""Training the sequence models (nn/seqnets.py) on the shared core
(nn/core.py): one trainer for the three shapes, which differ only in their
batches' arrays, their loss and their metrics.

Examples are (source ids, target) pairs (data/seqtask.py). An epoch is a
pass over batches of one source length each, in an order that is a
function of the seed and the epoch (nn/seq_data.py), so a checkpoint needs
only the epoch and the batch it had reached to resume exactly.
"""


from nnlab.kernels import softmax_cross_entropy

from .archs import SeqArch
from .charlm import clip_grad_norm
from .checkpoint import CheckpointError, split_arrays
from .distributed import ShardRng, columns, masked_targets
from .meta import Meta
from .optim import Adam
from .recipe_options import total_steps
from .seq_data import assemble, epoch_plan, steps_per_epoch
from .seq_eval import score
from .stepped import SteppedTrainer

KINDS = ("classifier", "tagger", "seq2seq")


class SeqTrainer(SteppedTrainer):
    hint = "try a lower --lr or a smaller --clip"

    def __init__(self, kind, config, train, val, src_tokens, tgt_tokens, arch=None):
        """train, val: [(source ids, target)]; src_tokens, tgt_tokens: the
        vocabularies' token lists, saved in the checkpoint."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        self.kind = kind
        super().__init__(config, len(tgt_tokens))
        c = config
        self.train, self.val = train, val
        self.src_tokens, self.tgt_tokens = list(src_tokens), list(tgt_tokens)
        self.arch = arch or SeqArch(kind, len(src_tokens), len(tgt_tokens), c.cell, c.hidden,
                                    c.layers, c.embed, c.dropout,
                                    getattr(c, "bidirectional", None) if kind == "tagger"
                                    else None)
        self.model = self.arch.build()
        self.model.init(self.rng)
        self.opt = Adam(self.model.params, weight_decay=c.weight_decay)
        self.steps_per_epoch = steps_per_epoch(train, c.batch_size)
        self.total_steps = total_steps(c, self.steps_per_epoch)
        self.epoch_index = 0        # epochs completed
        self.pos = 0                # batches of the current epoch done
        self._plan = None
        self.window = [0.0, 0]      # training loss summed since the last validation, and steps
        self.stale = 0              # validations since the best one (--patience)
        self.items_per_second = 0.0
        self.dropout_rng = self.rng  # a ShardRng on several MPI ranks
        self.corpus = {}            # where the data came from (nn/seq_run.py)

    @property
    def epoch(self):
        return self.epoch_index + self.pos / max(1, self.steps_per_epoch)

    def finished(self):
        patience = self.config.patience
        return self.step >= self.total_steps or bool(patience and self.stale >= patience)

    def next_batch(self, report):
        if self._plan is None or self.pos >= len(self._plan):
            if self._plan is not None:
                self.epoch_index, self.pos = self.epoch_index + 1, 0
            self._plan = epoch_plan(self.train, self.config.batch_size, self.config.seed,
                                    self.epoch_index)
        return assemble(self.kind, self.train, self._plan[self.pos])

    def loss_of(self, batch):
        m = self.model
        if self.kind == "seq2seq":
            src, dec_in, mask, y = batch
            logits = m.forward(src, dec_in, mask, train=True, rng=self.dropout_rng)
        else:
            x, y = batch
            logits = m.forward(x, train=True, rng=self.dropout_rng)
            y = y.reshape(-1)
        loss, self._dlogits = softmax_cross_entropy(logits, y)
        self._count = len(y)
        return loss

    # -- on several MPI ranks (nn/distributed.py): the batch's sequences split ------

    def shard(self, batch, lo, hi):
        self.dropout_rng = ShardRng(self.rng, lo, hi, self.batch_items(batch), axis=1)
        if self.kind == "seq2seq":
            src, dec_in, mask, y = batch
            return (columns(src, lo, hi), columns(dec_in, lo, hi), columns(mask, lo, hi),
                    masked_targets(mask, y, lo, hi))
        x, y = batch
        return columns(x, lo, hi), (y[lo:hi] if self.kind == "classifier" else columns(y, lo, hi))

    def loss_count(self, batch):
        return self._count  # the targets loss_of's mean is over

    def backward(self):
        self.model.backward(self._dlogits)

    def update(self, lr):
        clip_grad_norm(self.model.grads, self.config.clip)
        self.opt.step(self.model.params, self.model.grads, lr)

    def after_step(self, report, batch, loss):
        self.pos += 1  # batches of the epoch done
        super().after_step(report, batch, loss)

    def batch_items(self, batch):
        return batch[0].shape[1]

    def validate(self, report):
        entry = {"step": self.step, "epoch": round(self.epoch, 4),
                 "train_loss": self.take_window(),
                 "val_loss": None, "seconds": round(self.seconds, 3)}
        if self.val:
            entry.update(score(self.kind, self.model, self.val, self.config.batch_size,
                               self.tgt_tokens))
        return entry

    def validated(self, report, entry, improved):
        self.stale = 0 if improved else self.stale + 1
        report("validation", dict(entry, best=improved, total=self.total_steps))

    # -- checkpoint ----------------------------------------------------------

    def checkpoint_state(self, meta, arrays):
        meta.update({"src_tokens": self.src_tokens, "tgt_tokens": self.tgt_tokens,
                     "epoch": self.epoch_index, "pos": self.pos, "window": list(self.window),
                     "stale": self.stale, "total_steps": self.total_steps,
                     "corpus": dict(self.corpus),
                     "train_pairs": len(self.train), "val_pairs": len(self.val)})
        arrays.update({f"params/{k}": v for k, v in self.model.params.items()})

    @classmethod
    def resume(cls, meta, arrays, train, val, config, path="checkpoint"):
        """A trainer that continues the checkpointed run, on the same data
        encoded with the checkpoint's vocabularies."""
        m = Meta(meta, path)
        arch = SeqArch.read(m)
        try:
            t = cls(meta["kind"], config, train, val, m.get("src_tokens", "list"),
                    m.get("tgt_tokens", "list"), arch=arch)
            t.model.load_params(split_arrays(arrays, "params"))
        except MemoryError:
            raise CheckpointError(f"{path} describes a model too large to build here") from None
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path} does not fit its own model: {e}") from None
        t.restore_state(m, arrays)
        t.epoch_index, t.pos = m.get("epoch", "count"), m.get("pos", "count")
        t.stale = m.get("stale", "count", 0)
        t.restore_window(m)
        if t.pos:
            t._plan = epoch_plan(train, config.batch_size, config.seed, t.epoch_index)
            if t.pos > len(t._plan):
                raise m.bad("pos", "is beyond the end of the epoch")
        return t


"""Rows of tests/test_hostile_inputs.py for the sequence commands:
train-classifier, train-tagger, train-seq2seq, predict, and eval of their
checkpoints. A helper module of rows (CASES), not a test module."""

from hostile import Case
from hostile_makers import SEQ_TRAIN, checkpoint, folder, text_file

CLF = ("train-classifier", "{w}/bad.tsv", *SEQ_TRAIN)
TAG = ("train-tagger", "{w}/bad.tsv", *SEQ_TRAIN)
S2S = ("train-seq2seq", "{w}/bad.tsv", *SEQ_TRAIN)

CASES = [
    # ---- the files of pairs
    Case("classifier-line-without-tab", CLF, 1, ("bad.tsv", "line 2", "no tab"),
         text_file(b"abc\ta\nabc\nbca\tb\n", "bad.tsv")),
    Case("classifier-two-tabs", CLF, 1, ("bad.tsv", "line 1", "2 tabs"),
         text_file(b"a\tb\tc\n", "bad.tsv")),
    Case("classifier-empty-label", CLF, 1, ("bad.tsv", "line 3", "label is empty"),
         text_file(b"ab\tx\r\ncd\ty\r\nef\t\r\n", "bad.tsv")),
    Case("classifier-empty-text", CLF, 1, ("bad.tsv", "line 1", "text is empty"),
         text_file(b"\xef\xbb\xbf\tx\n", "bad.tsv")),
    Case("classifier-only-blank-lines", CLF, 1, ("bad.tsv", "holds no lines"),
         text_file(b"\n\r\n\n", "bad.tsv")),
    Case("classifier-not-utf8", CLF, 1, ("bad.tsv", "UTF-8"),
         text_file(b"caf\xe9\tfr\n", "bad.tsv")),
    Case("classifier-missing-file", ("train-classifier", "{w}/nope.tsv", *SEQ_TRAIN), 1,
         ("nope.tsv", "no such file")),
    Case("classifier-folder", ("train-classifier", "{w}/adir", *SEQ_TRAIN), 2,
         ("adir", "directory"), folder()),
    Case("tagger-tag-length", TAG, 1, ("bad.tsv", "line 2", "3 tags for 2 characters"),
         text_file(b"ab\t.U\ncd\tU..\n", "bad.tsv")),
    Case("seq2seq-empty-target", S2S, 1, ("bad.tsv", "line 1", "target is empty"),
         text_file(b"ab\t\n", "bad.tsv")),
    Case("seq2seq-no-file", ("train-seq2seq", *SEQ_TRAIN), 2, ("missing FILE",)),
    # ---- options
    Case("classifier-hidden-0", (*CLF[:2], "--hidden", "0"), 2, ("--hidden",),
         text_file(b"ab\tx\n", "bad.tsv")),
    Case("classifier-val-frac-1", (*CLF[:2], "--val-frac", "1"), 2, ("--val-frac",),
         text_file(b"ab\tx\n", "bad.tsv")),
    Case("seq2seq-unknown-target-tokens", (*S2S[:2], "--target-tokens", "bytes"), 2,
         ("--target-tokens",), text_file(b"ab\tx\n", "bad.tsv")),
    Case("classifier-has-no-depth", (*CLF[:2], "--depth", "2"), 2, ("--depth",),
         text_file(b"ab\tx\n", "bad.tsv")),
    Case("classifier-out-over-the-data", ("train-classifier", "{w}/pairs.tsv", *SEQ_TRAIN,
                                          "--out", "{w}/pairs.tsv"), 2, ("--out",),
         text_file(b"ab\tx\n", "pairs.tsv")),
    Case("classifier-resume-charlm", ("train-classifier", "--resume", "charlm.npz"), 1,
         ("charlm.npz", "charlm checkpoint")),
    # ---- predict
    Case("predict-unknown-characters", ("predict", "{base}/clf.npz"), 1,
         ("stdin, line 2", "never saw", "'z'"), input=b"abc\nxyz\n"),
    Case("predict-empty-text", ("predict", "{base}/clf.npz", ""), 2, ("TEXT 1", "empty")),
    Case("predict-beam-on-a-classifier", ("predict", "{base}/clf.npz", "--beam", "3", "abc"), 2,
         ("--beam", "seq2seq")),
    Case("predict-cnn-checkpoint", ("predict", "cnn.npz", "abc"), 1, ("cnn.npz", "cnn")),
    Case("predict-charlm-checkpoint", ("predict", "charlm.npz", "abc"), 1, ("charlm.npz",)),
    Case("predict-missing-checkpoint", ("predict", "nope.npz", "abc"), 1, ("nope.npz",)),
    Case("predict-tokens-lie", ("predict", "{w}/bad.npz", "abc"), 1, ("bad.npz", "tgt_tokens"),
         checkpoint("clf", meta=lambda m: m.update(tgt_tokens=["a"]))),
    Case("predict-arch-claims-huge-model", ("predict", "{w}/bad.npz", "abc"), 1, ("bad.npz",),
         checkpoint("clf", meta=lambda m: m["arch"]["args"].update(hidden=60000)),
         max_alloc_mb=256),
    Case("predict-config-null", ("predict", "{w}/bad.npz", "abc"), 1, ("bad.npz", "config"),
         checkpoint("s2s", meta=lambda m: m.update(config=None))),
    Case("predict-target-split-lies", ("predict", "{w}/bad.npz", "abc"), 1,
         ("bad.npz", "target_split"),
         checkpoint("s2s", meta=lambda m: m["config"].update(target_split=5))),
    # ---- eval
    Case("eval-classifier-without-tsv", ("eval", "{base}/clf.npz"), 2, ("FILE.tsv",)),
    Case("eval-classifier-with-data", ("eval", "{base}/clf.npz", "--data", "{data}"), 2,
         ("--data",)),
    Case("eval-classifier-unknown-label", ("eval", "{base}/clf.npz", "{w}/bad.tsv"), 1,
         ("bad.tsv", "pair 1", "label"), text_file(b"abc\tq\n", "bad.tsv")),
    Case("eval-seq2seq-unknown-characters", ("eval", "{base}/s2s.npz", "{w}/bad.tsv"), 1,
         ("bad.tsv", "pair 2", "never saw"), text_file(b"abc\tcba\nxyz\tzyx\n", "bad.tsv")),
]

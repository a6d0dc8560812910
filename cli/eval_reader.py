"""nnlab eval of a reader checkpoint: the fixed test strips, made from the
MNIST test digits with the seed every run is scored with (data/strips.py),
read and scored (nn/reader_eval.py); --show-errors draws the misread ones."""


def evaluate(checkpoint, meta, arrays, data_dir, download, beam, show_errors):
    from nnlab.data.datasets import load_dataset
    from nnlab.data.strips import check_digits, test_strips
    from nnlab.nn import reader_eval
    from nnlab.nn.meta import Meta
    from nnlab.nn.restore import reader_model

    from .ui import count_progress, download_progress

    model, (mean, std), max_digits = reader_model(meta, arrays, checkpoint)
    hint = Meta(meta, checkpoint).get("data_dir", "str?", None)
    with download_progress() as on_progress:
        data = load_dataset("mnist", data_dir or hint, download=download,
                            on_progress=on_progress)
    check_digits(data)
    images, labels = test_strips(data.test_x, data.test_y, max_digits)
    with count_progress("reading the test strips", "strips") as on_progress:
        got = reader_eval.read(model, images, mean, std, max_digits, beam, on_progress)
    out = reader_eval.scores(got, labels)
    out["by_length"] = {str(k): v for k, v in out["by_length"].items()}
    out.update(kind="reader", beam=beam, dataset=data.name)
    if show_errors:
        wrong = [i for i, (g, w) in enumerate(zip(got, labels))
                 if len(g) != len(w) or (g != w).any()]
        sure = reader_eval.probability(model, images[wrong], [got[i] for i in wrong], mean,
                                       std) if wrong else []
        # The most confidently wrong first: those say most about the model.
        order = sorted(range(len(wrong)), key=lambda j: -sure[j])[:show_errors]
        out["errors"] = [{"index": wrong[j], "true": reader_eval.text(labels[wrong[j]]),
                          "read": reader_eval.text(got[wrong[j]]),
                          "probability": float(sure[j])} for j in order]
        out["_images"] = [images[wrong[j]] for j in order]
    return out


def show(r):
    from .strip_art import render
    from .ui import stdout_console

    console = stdout_console()
    how = "greedy" if r["beam"] == 1 else f"beam {r['beam']}"
    console.print(f"whole numbers {r['exact_match']:.2%}  digits {r['accuracy']:.2%}  "
                  f"({r['strips']:,} fixed test strips from the {r['dataset']} test digits, "
                  f"{how})", markup=False, soft_wrap=True)
    for k, v in r["by_length"].items():
        console.print(f"  {k} digit{'s' if k != '1' else ' '}  {v:.2%}", markup=False)
    for e, image in zip(r.get("errors", []), r.get("_images", [])):
        console.print(f"test strip {e['index']}: {e['true']} read as {e['read']} "
                      f"(probability {e['probability']:.3f})", markup=False, soft_wrap=True)
        render(image, console)


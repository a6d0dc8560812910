"""Loading saved arrays into a model's own, by name and strictly: the one
check behind Sequential.load and CharLM.load_params."""


def load_arrays(dest, arrays, what="parameter"):
    """Copies ``arrays[key]`` into ``dest[key]`` for every key of ``dest``.

    Raises ValueError naming the first key that is missing, misshapen or not
    floating-point, or one that ``dest`` has no place for; every key is
    checked before anything is copied, so a refused load changes nothing.
    An unexpected key is refused rather than dropped: it means the arrays
    are another model's, which happens to share this one's names."""
    for key, p in dest.items():
        if key not in arrays:
            raise ValueError(f"{what} {key} is missing")
        a = arrays[key]
        if a.shape != p.shape:
            raise ValueError(f"{what} {key} has shape {a.shape}, expected {p.shape}")
        if a.dtype.kind != "f":
            # Integers or booleans would be cast without a word, complex
            # numbers lose their imaginary part with a warning.
            raise ValueError(f"{what} {key} holds {a.dtype} values, not floating-point numbers")
    extra = sorted(set(arrays) - set(dest))
    if extra:
        raise ValueError(f"unexpected {what} {extra[0]}")
    for key, p in dest.items():
        # In place: the model's dtype stays (a float64 network for gradient
        # checks loads float32 weights), and the layout its kernels expect.
        p[...] = arrays[key]

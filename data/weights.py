"""Reading a safetensors file of weights (``nnlab import``), through the
``safetensors`` library: names, shapes and dtypes come from the header
first, so that the caller can check them, and the model's size, before a
single tensor is read. No pickle is involved: safetensors holds raw arrays
and a JSON header, nothing executable."""

import numpy as np

from nnlab import NnlabError

from nnlab.files import file_error

FLOATS = {"F16", "F32", "F64"}  # numpy reads these; BF16 it cannot


class Weights:
    """An open safetensors file: ``shapes`` {name: shape}, ``dtypes``
    {name: "F32", ...}, ``metadata`` {str: str}; ``load(name)`` reads one
    tensor as float32."""

    def __init__(self, path):
        try:
            from safetensors import safe_open
        except ImportError:
            raise NnlabError("import needs the safetensors package: pip install "
                             "'nnlab[interop]' (or pip install safetensors)") from None
        if path == "-":
            raise NnlabError("import reads a safetensors FILE, not stdin (the format is read "
                             "by seeking); save it to a file first")
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            raise NnlabError(file_error(e, path, "safetensors file")) from None
        self.path = path
        try:
            self._file = safe_open(path, framework="np")
            names = list(self._file.keys())
            self.metadata = dict(self._file.metadata() or {})
            slices = {n: self._file.get_slice(n) for n in names}
            self.shapes = {n: tuple(s.get_shape()) for n, s in slices.items()}
            self.dtypes = {n: s.get_dtype() for n, s in slices.items()}
        except Exception as e:  # the library's own error type for a damaged header
            raise NnlabError(f"{path} is not a readable safetensors file ({_first_line(e)}); "
                             "give one written by safetensors' save_file") from None

    def load(self, name):
        dtype = self.dtypes[name]
        if dtype not in FLOATS:
            raise NnlabError(f"{self.path}: tensor {name} is {dtype}; import reads float16, "
                             "float32 or float64 weights (convert with .float() before saving)")
        try:
            a = self._file.get_tensor(name)
        except Exception as e:
            raise NnlabError(f"{self.path}: tensor {name} cannot be read "
                             f"({_first_line(e)})") from None
        return np.ascontiguousarray(a, np.float32)


def _first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]

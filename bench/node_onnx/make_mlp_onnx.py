#!/usr/bin/python3
"""Writes an ONNX copy of examples/models/mlp/1/model.pt, same weights, no torch.

    make_mlp_onnx.py MODEL_PT OUT_ONNX

A TorchScript file is a zip: data.pkl pickles the module's attributes, each
tensor a (storage key, dtype, numel) persistent id plus offset/size/stride,
and data/<key> holds the storage's raw little-endian bytes. This reads the
parameters that way (FP32, contiguous only), checks the saved forward() is
mlp's (linear+relu, linear+relu, linear over fc1..fc3 `_w`/`_b`), and builds
Gemm(transB=1)+Relu, Gemm+Relu, Gemm with Debian's python3-onnx, input
INPUT__0 [batch, 784] and output OUTPUT__0 [batch, 10] as in mlp's config.
"""
import io
import pickle
import re
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class _Storage:
    def __init__(self, key, dtype):
        self.key, self.dtype = key, dtype


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *unused):
    return _Tensor(storage, offset, size, stride)


class _Object:
    """Stands for the scripted module: keeps what BUILD gives it."""

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name.endswith("Storage"):
            return name
        if module == "collections" and name == "OrderedDict":
            return dict
        return _Object

    def persistent_load(self, pid):
        # ('storage', <dtype class>, key, location, numel)
        return _Storage(pid[2], pid[1])


def read_parameters(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        prefix = names[0].split("/")[0]
        root = _Unpickler(io.BytesIO(z.read(f"{prefix}/data.pkl"))).load()
        code = "".join(z.read(n).decode() for n in names if n.endswith(".py") and "/code/" in n)
        params = {}
        for name, t in root.state.items():
            if not isinstance(t, _Tensor):
                continue
            if t.storage.dtype != "FloatStorage":
                sys.exit(f"{name}: {t.storage.dtype}, only FloatStorage is read")
            raw = np.frombuffer(z.read(f"{prefix}/data/{t.storage.key}"), dtype="<f4")
            count = int(np.prod(t.size))
            want = tuple(int(np.prod(t.size[i + 1:])) for i in range(len(t.size)))
            if t.stride != want:
                sys.exit(f"{name}: stride {t.stride} is not contiguous")
            params[name] = raw[t.offset:t.offset + count].reshape(t.size).copy()
    return params, code


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    params, code = read_parameters(sys.argv[1])
    layers = ["fc1", "fc2", "fc3"]
    pattern = (r"relu\(torch\.linear\(x, fc1_w, fc1_b\)\).*relu\(torch\.linear\(x0, fc2_w, fc2_b\)\)"
               r".*return torch\.linear\(x1, fc3_w, fc3_b\)")
    if not re.search(pattern, code, re.S) or sorted(params) != sorted(f"{l}_{p}" for l in layers for p in "wb"):
        sys.exit(f"{sys.argv[1]}: not mlp's forward() or parameters ({sorted(params)})")
    nodes, inits, x = [], [], "INPUT__0"
    for i, l in enumerate(layers):
        w, b = params[f"{l}_w"], params[f"{l}_b"]
        inits += [numpy_helper.from_array(w, f"{l}_w"), numpy_helper.from_array(b, f"{l}_b")]
        last = i == len(layers) - 1
        y = "OUTPUT__0" if last else f"{l}_gemm"
        nodes.append(helper.make_node("Gemm", [x, f"{l}_w", f"{l}_b"], [y], transB=1, name=f"{l}"))
        if not last:
            nodes.append(helper.make_node("Relu", [y], [f"{l}_relu"], name=f"{l}_relu"))
            x = f"{l}_relu"
    d_in, d_out = params["fc1_w"].shape[1], params["fc3_w"].shape[0]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("INPUT__0", TensorProto.FLOAT, ["batch", d_in])],
        [helper.make_tensor_value_info("OUTPUT__0", TensorProto.FLOAT, ["batch", d_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="tide bench/node_onnx/make_mlp_onnx.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    shapes = ", ".join(f"{k} {list(v.shape)}" for k, v in params.items())
    print(f"wrote {sys.argv[2]}: {shapes}")


if __name__ == "__main__":
    main()

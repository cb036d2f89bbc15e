#!/usr/bin/env python3
"""tide serve through clients tide did not write.

gRPC: Python stubs generated at test time (protoc + grpc_python_plugin, into
the build directory) from the repository's V2 proto files, which follow
Triton's grpc_service.proto field numbers. HTTP: plain urllib requests shaped
as Triton's protocol documentation shows them. Every RPC and endpoint of the
V2 protocol and Triton's extensions tide implements, including the model
control API (--model-control-mode explicit, admin token) and the error codes,
asserted exactly.

Run by ctest (tests/CMakeLists.txt):
  v2_clients_test.py --tide BIN --source DIR --work DIR [--protoc P --plugin P]
"""

import argparse
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

ARGS = None
TOKEN = "s3cret-token"


def generate_stubs(work):
    """protoc --python_out --grpc_python_out into `work`/stubs; returns it."""
    out = os.path.join(work, "stubs")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    grpc_dir = os.path.join(ARGS.source, "src", "frontends", "grpc")
    core_dir = os.path.join(ARGS.source, "src", "core")
    cmd = [ARGS.protoc, "--proto_path=" + grpc_dir, "--proto_path=" + core_dir,
           "--python_out=" + out, "--grpc_python_out=" + out,
           "--plugin=protoc-gen-grpc_python=" + ARGS.plugin,
           os.path.join(grpc_dir, "grpc_service.proto"),
           os.path.join(grpc_dir, "health.proto"),
           os.path.join(core_dir, "model_config.proto")]
    subprocess.run(cmd, check=True)
    return out


SIMULATED = """name: "{name}"
backend: "simulated"
max_batch_size: 0
input {{ name: "INPUT0" data_type: TYPE_FP32 dims: [ {dims} ] }}
output {{ name: "OUTPUT0" data_type: TYPE_FP32 dims: [ {dims} ] }}
instance_group {{ count: 1 }}
parameters {{ key: "compute_ms" value {{ string_value: "0" }} }}
"""


class Server:
    """tide serve on port 0 (reads the "listening" line for the ports)."""

    def __init__(self, repo, extra):
        cmd = [ARGS.tide, "serve", "--model-repository", repo, "--http-port", "0",
               "--grpc-port", "0", "--metrics-port", "0", "--host", "127.0.0.1",
               "--drain-delay", "0"] + extra
        self.log = open(os.path.join(ARGS.work, "tide_serve.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        for line in self.proc.stdout:
            if '"event":"listening"' in line:
                ev = json.loads(line)
                self.http, self.grpc, self.metrics = (ev["http_port"], ev["grpc_port"],
                                                      ev["metrics_port"])
                return
        raise RuntimeError("tide serve did not start; see " + self.log.name)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def http(port, method, path, body=None, headers=None):
    """(status, headers, body bytes); error statuses are returned, not raised."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class V2Clients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        stubs = generate_stubs(ARGS.work)
        sys.path.insert(0, stubs)
        global grpc, pb, pb_grpc, health_pb, health_grpc
        import grpc
        import grpc_service_pb2 as pb
        import grpc_service_pb2_grpc as pb_grpc
        import health_pb2 as health_pb
        import health_pb2_grpc as health_grpc
        cls.tmp = tempfile.mkdtemp(prefix="tide_py_")
        repo = os.path.join(cls.tmp, "repo")
        for name, dims in (("m", "4"), ("other", "4"), ("wide", "-1")):
            os.makedirs(os.path.join(repo, name, "1"))
            with open(os.path.join(repo, name, "config.pbtxt"), "w") as f:
                f.write(SIMULATED.format(name=name, dims=dims))
        token = os.path.join(cls.tmp, "token")
        with open(token, "w") as f:
            f.write(TOKEN + "\n")
        cls.server = Server(repo, ["--model-control-mode", "explicit", "--admin-token-file",
                                   token, "--load-model", "m", "--load-model", "wide"])
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % cls.server.grpc)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)
        cls.health = health_grpc.HealthStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    AUTH = (("authorization", "Bearer " + TOKEN),)

    def assertCode(self, call, code, message=None):
        with self.assertRaises(grpc.RpcError) as e:
            call()
        self.assertEqual(e.exception.code(), code)
        if message is not None:
            self.assertEqual(e.exception.details(), message)

    # ---- gRPC ----

    def test_grpc_health_and_metadata(self):
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest()).live)
        self.assertTrue(self.stub.ServerReady(pb.ServerReadyRequest()).ready)
        md = self.stub.ServerMetadata(pb.ServerMetadataRequest())
        self.assertEqual(md.name, "tide")
        self.assertEqual(list(md.extensions), ["binary_tensor_data", "statistics",
                                               "model_repository", "model_configuration"])
        self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name="m")).ready)
        self.assertCode(lambda: self.stub.ModelReady(pb.ModelReadyRequest(name="nosuch")),
                        grpc.StatusCode.NOT_FOUND, "unknown model 'nosuch'")
        mm = self.stub.ModelMetadata(pb.ModelMetadataRequest(name="m"))
        self.assertEqual((mm.name, list(mm.versions), mm.platform), ("m", ["1"], "simulated"))
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in mm.inputs],
                         [("INPUT0", "FP32", [4])])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in mm.outputs],
                         [("OUTPUT0", "FP32", [4])])
        self.assertCode(lambda: self.stub.ModelMetadata(pb.ModelMetadataRequest(name="a/b")),
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "model name 'a/b' may only contain letters, digits, '_', '-' and '.'")
        h = self.health.Check(health_pb.HealthCheckRequest(service=""))
        self.assertEqual(h.status, health_pb.HealthCheckResponse.SERVING)
        h = self.health.Check(health_pb.HealthCheckRequest(
            service="inference.GRPCInferenceService"))
        self.assertEqual(h.status, health_pb.HealthCheckResponse.SERVING)
        self.assertCode(lambda: self.health.Check(health_pb.HealthCheckRequest(service="x")),
                        grpc.StatusCode.NOT_FOUND, "unknown service 'x'")

    def infer_request(self, model, values, raw):
        req = pb.ModelInferRequest(model_name=model, id="req-1")
        t = req.inputs.add(name="INPUT0", datatype="FP32", shape=[len(values)])
        if raw:
            req.raw_input_contents.append(struct.pack("<%df" % len(values), *values))
        else:
            t.contents.fp32_contents.extend(values)
        return req

    def test_grpc_infer_typed_and_raw(self):
        values = [1.5, -2.0, 3.25, 1e6]
        for raw in (False, True):
            r = self.stub.ModelInfer(self.infer_request("m", values, raw))
            self.assertEqual((r.model_name, r.model_version, r.id), ("m", "1", "req-1"))
            self.assertEqual([(o.name, o.datatype, list(o.shape)) for o in r.outputs],
                             [("OUTPUT0", "FP32", [4])])
            self.assertEqual(r.raw_output_contents[0], struct.pack("<4f", *values))
        self.assertCode(lambda: self.stub.ModelInfer(self.infer_request("nosuch", values, True)),
                        grpc.StatusCode.NOT_FOUND, "unknown model 'nosuch'")
        bad = self.infer_request("m", values[:3], True)
        self.assertCode(lambda: self.stub.ModelInfer(bad), grpc.StatusCode.INVALID_ARGUMENT)

    def test_grpc_model_config(self):
        c = self.stub.ModelConfig(pb.ModelConfigRequest(name="m")).config
        self.assertEqual((c.name, c.backend, c.max_batch_size), ("m", "simulated", 0))
        self.assertEqual([(i.name, list(i.dims)) for i in c.input], [("INPUT0", [4])])
        self.assertCode(lambda: self.stub.ModelConfig(pb.ModelConfigRequest(name="nosuch")),
                        grpc.StatusCode.NOT_FOUND, "unknown model 'nosuch'")

    def test_grpc_model_control_statistics_and_index(self):
        load = lambda name, md=(): self.stub.RepositoryModelLoad(
            pb.RepositoryModelLoadRequest(model_name=name), metadata=md)
        unload = lambda name, md=(): self.stub.RepositoryModelUnload(
            pb.RepositoryModelUnloadRequest(model_name=name), metadata=md)
        index = lambda md=(): self.stub.RepositoryIndex(pb.RepositoryIndexRequest(), metadata=md)
        wrong = (("authorization", "Bearer nope"),)
        self.assertCode(lambda: load("other"), grpc.StatusCode.UNAUTHENTICATED)
        self.assertCode(lambda: load("other", wrong), grpc.StatusCode.PERMISSION_DENIED,
                        "the admin token is not the one tide serve was given")
        self.assertCode(lambda: unload("other"), grpc.StatusCode.UNAUTHENTICATED)
        self.assertCode(lambda: unload("other", wrong), grpc.StatusCode.PERMISSION_DENIED)
        self.assertCode(lambda: index(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertCode(lambda: index(wrong), grpc.StatusCode.PERMISSION_DENIED)
        self.assertCode(lambda: load("..", self.AUTH), grpc.StatusCode.INVALID_ARGUMENT,
                        "model name '..' must not start with '.'")
        self.assertCode(lambda: load("nosuch", self.AUTH), grpc.StatusCode.NOT_FOUND)
        with_params = pb.RepositoryModelLoadRequest(model_name="other")
        with_params.parameters["config"].string_param = "{}"
        self.assertCode(lambda: self.stub.RepositoryModelLoad(with_params, metadata=self.AUTH),
                        grpc.StatusCode.INVALID_ARGUMENT)
        rows = [(e.name, e.version, e.state, e.reason) for e in index(self.AUTH).models]
        self.assertIn(("other", "", "UNAVAILABLE", "not loaded"), rows)
        self.assertIn(("m", "1", "READY", ""), rows)
        self.assertCode(lambda: self.stub.ModelInfer(self.infer_request("other", [1] * 4, True)),
                        grpc.StatusCode.NOT_FOUND)
        load("other", self.AUTH)
        self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name="other")).ready)
        for _ in range(2):
            self.stub.ModelInfer(self.infer_request("other", [1, 2, 3, 4], False))
        st = self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="other")).model_stats
        self.assertEqual([(s.name, s.version, s.inference_count, s.execution_count,
                           s.inference_stats.success.count, s.inference_stats.fail.count)
                          for s in st], [("other", "1", 2, 2, 2, 0)])
        self.assertCode(
            lambda: self.stub.ModelStatistics(pb.ModelStatisticsRequest(name="nosuch")),
            grpc.StatusCode.NOT_FOUND)
        ready = [(e.name, e.state) for e in self.stub.RepositoryIndex(
            pb.RepositoryIndexRequest(ready=True), metadata=self.AUTH).models]
        self.assertEqual(ready, [("m", "READY"), ("other", "READY"), ("wide", "READY")])
        unload("other", self.AUTH)
        self.assertFalse(self.stub.ModelReady(pb.ModelReadyRequest(name="other")).ready)
        self.assertCode(lambda: self.stub.ModelInfer(self.infer_request("other", [1] * 4, True)),
                        grpc.StatusCode.NOT_FOUND,
                        "model 'other' is not loaded (unloaded; POST "
                        "/v2/repository/models/other/load loads it)")
        rows = [(e.name, e.state, e.reason) for e in index(self.AUTH).models]
        self.assertIn(("other", "UNAVAILABLE", "unloaded"), rows)
        self.assertCode(lambda: unload("nosuch", self.AUTH), grpc.StatusCode.NOT_FOUND,
                        "unknown model 'nosuch'")

    # ---- HTTP, as Triton's protocol documents show the requests ----

    def test_http_health_metadata_config_stats(self):
        p = self.server.http
        self.assertEqual(http(p, "GET", "/v2/health/live")[0], 200)
        self.assertEqual(http(p, "GET", "/v2/health/ready")[0], 200)
        s, _, b = http(p, "GET", "/v2")
        self.assertEqual(json.loads(b)["extensions"], ["binary_tensor_data", "statistics",
                                                       "model_repository",
                                                       "model_configuration"])
        s, _, b = http(p, "GET", "/v2/models/m")
        self.assertEqual(json.loads(b)["inputs"],
                         [{"name": "INPUT0", "datatype": "FP32", "shape": [4]}])
        self.assertEqual(http(p, "GET", "/v2/models/m/ready")[0], 200)
        self.assertEqual(http(p, "GET", "/v2/models/m/versions/1/ready")[0], 200)
        s, _, b = http(p, "GET", "/v2/models/nosuch/ready")
        self.assertEqual((s, json.loads(b)), (404, {"error": "unknown model 'nosuch'"}))
        s, _, b = http(p, "GET", "/v2/models/m/config")
        c = json.loads(b)
        self.assertEqual((s, c["name"], c["backend"]), (200, "m", "simulated"))
        s, _, b = http(p, "GET", "/v2/models/m/stats")
        self.assertEqual((s, [x["name"] for x in json.loads(b)["model_stats"]]), (200, ["m"]))

    def test_http_infer_json_binary_and_gzip(self):
        p = self.server.http
        body = json.dumps({"id": "42", "inputs": [{"name": "INPUT0", "shape": [4],
                                                   "datatype": "FP32",
                                                   "data": [1, 2, 3, 4]}]}).encode()
        s, _, b = http(p, "POST", "/v2/models/m/infer", body,
                       {"Content-Type": "application/json"})
        r = json.loads(b)
        self.assertEqual((s, r["id"], r["outputs"][0]["data"]), (200, "42", [1, 2, 3, 4]))
        # Binary request and output, with Inference-Header-Content-Length.
        header = json.dumps({"inputs": [{"name": "INPUT0", "shape": [4], "datatype": "FP32",
                                         "parameters": {"binary_data_size": 16}}],
                             "outputs": [{"name": "OUTPUT0",
                                          "parameters": {"binary_data": True}}]}).encode()
        data = struct.pack("<4f", 0.5, 1.5, 2.5, 3.5)
        s, h, b = http(p, "POST", "/v2/models/m/infer", header + data,
                       {"Content-Type": "application/octet-stream",
                        "Inference-Header-Content-Length": str(len(header))})
        n = int(h["Inference-Header-Content-Length"])
        self.assertEqual((s, b[n:]), (200, data))
        self.assertEqual(json.loads(b[:n])["outputs"][0]["parameters"], {"binary_data_size": 16})
        # gzip request body (Content-Encoding) and gzip response (Accept-Encoding).
        wide = json.dumps({"inputs": [{"name": "INPUT0", "shape": [500], "datatype": "FP32",
                                       "data": list(range(500))}]}).encode()
        s, h, plain = http(p, "POST", "/v2/models/wide/infer", wide)
        self.assertEqual((s, h.get("Content-Encoding"), h["Vary"]), (200, None,
                                                                      "Accept-Encoding"))
        s, h, zipped = http(p, "POST", "/v2/models/wide/infer", gzip.compress(wide),
                            {"Content-Encoding": "gzip", "Accept-Encoding": "gzip, deflate"})
        self.assertEqual((s, h["Content-Encoding"], h["Vary"]), (200, "gzip", "Accept-Encoding"))
        self.assertEqual(int(h["Content-Length"]), len(zipped))
        self.assertEqual(gzip.decompress(zipped), plain)
        self.assertEqual(json.loads(plain)["outputs"][0]["data"], list(range(500)))
        s, h, b = http(p, "POST", "/v2/models/wide/infer", wide,
                       {"Accept-Encoding": "gzip;q=0, identity"})
        self.assertEqual((h.get("Content-Encoding"), b), (None, plain))

    def test_http_model_control(self):
        p = self.server.http
        auth = {"Authorization": "Bearer " + TOKEN}
        s, h, b = http(p, "POST", "/v2/repository/models/other/load", b"")
        self.assertEqual((s, h["WWW-Authenticate"]), (401, 'Bearer realm="tide"'))
        self.assertEqual(json.loads(b), {"error": "model control needs the admin token: send "
                                                  "'Authorization: Bearer <token>' (gRPC: "
                                                  "metadata 'authorization')"})
        s, _, b = http(p, "POST", "/v2/repository/models/other/load", b"",
                       {"Authorization": "Bearer wrong"})
        self.assertEqual((s, json.loads(b)), (403, {
            "error": "the admin token is not the one tide serve was given"}))
        s, _, b = http(p, "POST", "/v2/repository/models/%2e%2e%2fother/load", b"", auth)
        self.assertEqual((s, json.loads(b)), (400, {
            "error": "model name '../other' must not start with '.'"}))
        s, _, b = http(p, "POST", "/v2/repository/index", b"{}", auth)
        self.assertEqual(s, 200)
        names = {e["name"]: e for e in json.loads(b)}
        self.assertEqual(names["m"], {"name": "m", "version": "1", "state": "READY"})
        self.assertEqual(http(p, "POST", "/v2/repository/index", b"{}")[0], 401)
        # Load (with Triton's empty parameters), infer, unload: 200 and no body.
        s, _, b = http(p, "POST", "/v2/repository/models/other/load", b'{"parameters": {}}', auth)
        self.assertEqual((s, b), (200, b""))
        body = json.dumps({"inputs": [{"name": "INPUT0", "shape": [4], "datatype": "FP32",
                                       "data": [4, 3, 2, 1]}]}).encode()
        s, _, b = http(p, "POST", "/v2/models/other/infer", body)
        self.assertEqual((s, json.loads(b)["outputs"][0]["data"]), (200, [4, 3, 2, 1]))
        s, _, b = http(p, "POST", "/v2/repository/models/other/unload", b"", auth)
        self.assertEqual((s, b), (200, b""))
        s, _, b = http(p, "POST", "/v2/models/other/infer", body)
        self.assertEqual(s, 404)
        s, _, b = http(p, "GET", "/v2/models/other/ready")
        self.assertEqual((s, json.loads(b)), (503, {"name": "other", "ready": False,
                                                    "reason": "unloaded"}))
        s, _, b = http(p, "GET", "/v2/repository/models/other/load")
        self.assertEqual(s, 405)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--tide", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--protoc", default=shutil.which("protoc") or "protoc")
    ap.add_argument("--plugin", default="/usr/bin/grpc_python_plugin")
    ARGS, rest = ap.parse_known_args()
    os.makedirs(ARGS.work, exist_ok=True)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()

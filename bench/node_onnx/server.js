// The reference server of bench/mlp_vs_node_onnx.sh: KServe V2
// `POST /v2/models/mlp/infer` (and `.../versions/1/infer`) answered by
// onnxruntime-node on one thread (intra-op and inter-op 1, sequential), the
// way a small Node.js service would serve the model: Node's http module,
// keep-alive, JSON bodies like examples/models/mlp/sample_request.json, and
// binary tensors (Inference-Header-Content-Length) in and out.
//
//   node server.js --model mlp.onnx [--port 0] [--host 127.0.0.1]
//
// Prints {"listening":true,"http_port":N} on stdout once it serves.
// Bad requests get 400 {"error": "..."}; unknown paths 404.
'use strict';
const http = require('http');
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const args = {model: '', port: 0, host: '127.0.0.1'};
  for (let i = 2; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || i + 1 >= argv.length) {
      console.error(`server.js: unknown or incomplete argument '${argv[i]}'`);
      process.exit(2);
    }
    args[key] = key === 'port' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!args.model) {
    console.error('server.js: --model PATH is required');
    process.exit(2);
  }
  return args;
}

class BadRequest extends Error {}

function reply(res, status, body, headers = {}) {
  res.writeHead(status, Object.assign({'Content-Length': body.length}, headers));
  res.end(body);
}

function replyJson(res, status, obj) {
  reply(res, status, Buffer.from(JSON.stringify(obj)), {'Content-Type': 'application/json'});
}

// Decodes one V2 request (JSON or binary) into {id, rows, input, binaryOut}.
function decodeRequest(req, body, inputName, width) {
  const headerLength = req.headers['inference-header-content-length'];
  let header;
  let binary = null;
  try {
    if (headerLength !== undefined) {
      const n = Number(headerLength);
      if (!Number.isInteger(n) || n < 0 || n > body.length) {
        throw new BadRequest(`Inference-Header-Content-Length ${headerLength} is not in [0, ${body.length}]`);
      }
      header = JSON.parse(body.subarray(0, n).toString('utf8'));
      binary = body.subarray(n);
    } else {
      header = JSON.parse(body.toString('utf8'));
    }
  } catch (e) {
    if (e instanceof BadRequest) throw e;
    throw new BadRequest(`request body is not valid JSON: ${e.message}`);
  }
  const inputs = header && header.inputs;
  if (!Array.isArray(inputs) || inputs.length !== 1) throw new BadRequest('\'inputs\' must hold one tensor');
  const t = inputs[0];
  if (t.name !== inputName) throw new BadRequest(`unknown input '${t.name}' (the model has '${inputName}')`);
  if (t.datatype !== 'FP32') throw new BadRequest(`input '${t.name}': datatype ${t.datatype}, expected FP32`);
  if (!Array.isArray(t.shape) || t.shape.length !== 2 || t.shape[1] !== width || !(t.shape[0] >= 1)) {
    throw new BadRequest(`input '${t.name}': shape ${JSON.stringify(t.shape)}, expected [N, ${width}]`);
  }
  const count = t.shape[0] * width;
  let input;
  const size = t.parameters && t.parameters.binary_data_size;
  if (size !== undefined) {
    if (binary === null || size !== count * 4 || binary.length !== size) {
      throw new BadRequest(`input '${t.name}': binary_data_size ${size} with ${binary ? binary.length : 0} ` +
                           `bytes after the header, expected ${count * 4}`);
    }
    input = new Float32Array(count);
    Buffer.from(input.buffer).set(binary);
  } else {
    if (!Array.isArray(t.data) || t.data.length !== count) {
      throw new BadRequest(`input '${t.name}': 'data' must be a flat array of ${count} numbers`);
    }
    input = Float32Array.from(t.data);
    if (input.some(Number.isNaN)) throw new BadRequest(`input '${t.name}': 'data' holds a non-number`);
  }
  const outs = header.outputs;
  const binaryOut = (header.parameters && header.parameters.binary_data_output === true) ||
      (Array.isArray(outs) && outs.some((o) => o.parameters && o.parameters.binary_data === true));
  return {id: header.id, rows: t.shape[0], input, binaryOut};
}

async function main() {
  const args = parseArgs(process.argv);
  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  const width = 784;
  const paths = new Set(['/v2/models/mlp/infer', '/v2/models/mlp/versions/1/infer']);

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/v2/health/ready' || req.url === '/v2/health/live')) {
      return reply(res, 200, Buffer.alloc(0));
    }
    if (req.method !== 'POST' || !paths.has(req.url)) {
      return replyJson(res, 404, {error: `no route for ${req.method} ${req.url}`});
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      let r;
      try {
        r = decodeRequest(req, Buffer.concat(chunks), inputName, width);
      } catch (e) {
        return replyJson(res, 400, {error: e instanceof BadRequest ? e.message : String(e)});
      }
      let out;
      try {
        const feeds = {[inputName]: new ort.Tensor('float32', r.input, [r.rows, width])};
        out = (await session.run(feeds))[outputName];
      } catch (e) {
        return replyJson(res, 500, {error: `inference failed: ${e.message}`});
      }
      const meta = {name: outputName, datatype: 'FP32', shape: out.dims};
      const response = {model_name: 'mlp', model_version: '1'};
      if (r.id !== undefined) response.id = r.id;
      if (!r.binaryOut) {
        response.outputs = [Object.assign(meta, {data: Array.from(out.data)})];
        return replyJson(res, 200, response);
      }
      const raw = Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength);
      response.outputs = [Object.assign(meta, {parameters: {binary_data_size: raw.length}})];
      const head = Buffer.from(JSON.stringify(response));
      reply(res, 200, Buffer.concat([head, raw]), {
        'Content-Type': 'application/octet-stream',
        'Inference-Header-Content-Length': head.length,
      });
    });
  });
  server.keepAliveTimeout = 300000;
  server.listen(args.port, args.host, () => {
    console.log(JSON.stringify({listening: true, http_port: server.address().port, ort: ort.env.versions}));
  });
}

main().catch((e) => {
  console.error(`server.js: ${e.stack || e}`);
  process.exit(1);
});

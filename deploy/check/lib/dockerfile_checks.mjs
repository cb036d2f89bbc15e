// Checks deploy/Dockerfile against what it builds from, since no container
// engine is available to build it here: the base images, that the build
// stage uses scripts/install-deps.sh and scripts/build.sh, that what it
// copies exists where those scripts put it, and that the runtime stage holds
// only runtime libraries, the contract's entrypoint, ports and user.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";

const kBase = "debian:bookworm-slim";

// Instructions with continuation lines joined and comments dropped.
export function parseDockerfile(text) {
  const lines = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (current === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) { current += line.slice(0, -1) + " "; continue; }
    current += line;
    const m = /^(\S+)\s*(.*)$/.exec(current);
    lines.push({ op: m[1].toUpperCase(), rest: m[2] });
    current = "";
  }
  const globalArgs = new Map();
  const stages = [];
  for (const ins of lines) {
    if (ins.op === "FROM") {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.rest);
      stages.push({ from: m[1], name: m[2] ?? String(stages.length), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op === "ARG") {
        const [k, v] = ins.rest.split("=");
        globalArgs.set(k.trim(), v?.trim());
      }
    } else {
      stages.at(-1).instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

// "examples/models /models" or "--from=build --chown=1:1 /a /b" -> {from, sources, dest}
function parseCopy(rest) {
  const words = rest.split(/\s+/);
  const opts = {};
  while (words[0]?.startsWith("--")) {
    const [k, v] = words.shift().slice(2).split("=");
    opts[k] = v;
  }
  return { from: opts.from, sources: words.slice(0, -1), dest: words.at(-1) };
}

// The names installed by scripts/install-deps.sh's packages=( ... ) lists
// (packages, torch_packages, test_packages).
export function installDepsPackages(text) {
  return [...text.matchAll(/\n\w*packages=\(([\s\S]*?)\n\)/g)]
    .flatMap((m) => m[1].split("\n").map((l) => l.replace(/#.*/, "")).join(" ").split(/\s+/))
    .filter(Boolean);
}

// Package -> the packages it depends on (Depends and Pre-Depends, every
// alternative), over the packages installed on this machine.
function installedDependencies() {
  const out = execFileSync("dpkg-query", ["-W", "-f=${Package}\t${Provides}\t${Depends}, ${Pre-Depends}\n"], { encoding: "utf8" });
  const deps = new Map();
  const providers = new Map();
  const names = (field) => field.split(/[,|]/).map((d) => d.trim().split(/[\s:(]/)[0]).filter(Boolean);
  for (const line of out.split("\n")) {
    if (!line) continue;
    const [pkg, provides, depends] = line.split("\t");
    deps.set(pkg, names(depends ?? ""));
    for (const p of names(provides ?? "")) providers.set(p, [...(providers.get(p) ?? []), pkg]);
  }
  return { deps, providers };
}

export function dependencyClosure(roots) {
  const { deps, providers } = installedDependencies();
  const seen = new Set();
  const todo = [...roots];
  while (todo.length) {
    const p = todo.pop();
    if (seen.has(p)) continue;
    seen.add(p);
    todo.push(...(deps.get(p) ?? []), ...(providers.get(p) ?? []));
  }
  return seen;
}

export function checkDockerfile({ root, dockerfile, contract, runtimePackages }) {
  const problems = [];
  const rel = path.relative(root, dockerfile).startsWith("..") ? dockerfile : path.relative(root, dockerfile);
  const text = readFileSync(dockerfile, "utf8");
  const { stages } = parseDockerfile(text);
  const byName = new Map();
  const say = (s) => problems.push(`${rel}: ${s}`);

  // A `# syntax=` parser directive (only in the leading comments) makes
  // BuildKit pull that frontend image from a registry before the first step:
  // where there is none, as on an offline build machine, the build fails.
  for (const line of text.split("\n")) {
    if (!line.startsWith("#")) break;
    const m = /^#\s*syntax\s*=\s*(\S+)/i.exec(line);
    if (m) say(`# syntax=${m[1]}: BuildKit fetches that frontend from a registry (fails offline); the built-in one is enough`);
  }

  // Base images: bookworm-slim or an earlier stage, never one named by a build
  // arg: podman's buildah prunes the stages it sees no use of before expanding
  // the arg, then fails ("models-none: image not known").
  for (const stage of stages) {
    if (/\$/.test(stage.from)) {
      say(`FROM ${stage.from}: a stage chosen by a build arg breaks podman build (buildah prunes the stage); choose in a RUN`);
    } else if (stage.from !== kBase && !byName.has(stage.from)) {
      say(`FROM ${stage.from}: every stage starts from ${kBase} or an earlier stage`);
    }
    byName.set(stage.name, stage);
  }
  const build = byName.get("build");
  const runtime = stages.at(-1);
  if (!build) { say("no stage named build"); return problems; }
  if (runtime?.name !== "runtime") say(`the last (default) stage must be runtime, not ${runtime?.name}`);

  const runs = (stage) => stage.instructions.filter((i) => i.op === "RUN").map((i) => i.rest).join("\n");
  const workdir = build.instructions.filter((i) => i.op === "WORKDIR").at(-1)?.rest ?? "/";
  if (!/scripts\/install-deps\.sh --build-only\b/.test(runs(build))) say("the build stage must run scripts/install-deps.sh --build-only");
  if (!/scripts\/build\.sh\b/.test(runs(build))) say("the build stage must run scripts/build.sh");
  for (const flag of ["-DTIDE_BUILD_TESTS=OFF", "-DTIDE_BUILD_BENCH=OFF"]) {
    if (!runs(build).includes(flag)) say(`the build stage must configure with ${flag} (the image needs no test tools)`);
  }
  if (!runs(build).includes(`deploy/runtime-packages.sh ${contract.image.binary}`)) {
    say(`the build stage must list runtime packages with deploy/runtime-packages.sh ${contract.image.binary}`);
  }

  // Where scripts/build.sh and CMake put the binary.
  const buildSh = readFileSync(path.join(root, "scripts/build.sh"), "utf8");
  const buildDir = /\$\{BUILD_DIR:-\$root\/([^}]+)\}/.exec(buildSh)?.[1];
  const appCmake = readFileSync(path.join(root, "apps/tide/CMakeLists.txt"), "utf8");
  const expectedBinary = `${buildDir}/apps/tide/${/add_executable\((\S+)/.exec(appCmake)?.[1]}`;
  if (expectedBinary !== contract.image.binary) {
    say(`scripts/build.sh and apps/tide/CMakeLists.txt put the binary at ${expectedBinary}, contract.json says ${contract.image.binary}`);
  }

  // Every COPY source exists: in the repository, or where the build puts it.
  for (const stage of stages) {
    for (const ins of stage.instructions.filter((i) => i.op === "COPY")) {
      const copy = parseCopy(ins.rest);
      if (copy.from === "build") {
        for (const src of copy.sources) {
          // The binary, and the backend plugins CMake writes beside it (apps/tide/backends).
          const plugins = path.posix.join(workdir, path.posix.dirname(contract.image.binary), "backends");
          if (src.startsWith(path.posix.join(workdir, buildDir) + "/") &&
              src !== path.posix.join(workdir, contract.image.binary) && src !== plugins) {
            say(`COPY --from=build ${src}: the build puts tide at ${path.posix.join(workdir, contract.image.binary)}`);
          }
        }
      } else if (!copy.from) {
        for (const src of copy.sources) {
          if (!existsSync(path.join(root, src))) say(`COPY ${src}: no such path in the repository`);
        }
      }
    }
  }
  if (!runtime.instructions.some((i) => i.op === "COPY" && parseCopy(i.rest).from === "build" &&
                                  parseCopy(i.rest).sources.includes(path.posix.join(workdir, contract.image.binary)))) {
    say(`the runtime stage must copy ${path.posix.join(workdir, contract.image.binary)} from the build stage`);
  }
  // /models: one `models` stage fills it according to TIDE_MODELS (a RUN, so
  // that every builder keeps the stage), the runtime stage copies it.
  const models = byName.get("models");
  if (!models || !/\bTIDE_MODELS\b/.test(runs(models)) || !runs(models).includes(`${contract.image.modelsDir}/`)) {
    say(`a models stage must copy ${contract.image.modelsDir} into /models when TIDE_MODELS=examples`);
  }
  if (!runtime.instructions.some((i) => i.op === "COPY" && parseCopy(i.rest).from === "models" &&
                                  parseCopy(i.rest).dest === "/models")) {
    say("the runtime stage must COPY --from=models /models");
  }
  const modelsDir = path.join(root, contract.image.modelsDir);
  if (!existsSync(modelsDir) || !readdirSync(modelsDir).some((m) => existsSync(path.join(modelsDir, m, "config.pbtxt")))) {
    say(`${contract.image.modelsDir} holds no model (<model>/config.pbtxt) to bake in`);
  }

  // Runtime stage: runtime libraries only, contract's user, ports, entrypoint.
  const runtimeRuns = runs(runtime);
  if (/install-deps\.sh|build-essential|\S+-dev\b/.test(runtimeRuns)) say("the runtime stage installs build tools or -dev packages");
  if (!/runtime-packages\.txt/.test(runtimeRuns)) say("the runtime stage must install the packages listed by deploy/runtime-packages.sh");
  const user = runtime.instructions.filter((i) => i.op === "USER").at(-1)?.rest;
  if (user?.split(":")[0] !== String(contract.image.user)) say(`USER must be ${contract.image.user} (numeric, non-root), is ${user}`);
  const exposed = runtime.instructions.filter((i) => i.op === "EXPOSE").flatMap((i) => i.rest.split(/\s+/)).map(Number).sort();
  const ports = Object.values(contract.ports).sort();
  if (JSON.stringify(exposed) !== JSON.stringify(ports)) say(`EXPOSE ${exposed.join(" ")}, tide listens on ${ports.join(" ")}`);
  const entry = runtime.instructions.filter((i) => i.op === "ENTRYPOINT").at(-1)?.rest;
  let entryArgs = null;
  try { entryArgs = JSON.parse(entry); } catch { /* shell form or missing: reported below */ }
  if (JSON.stringify(entryArgs) !== JSON.stringify(contract.serve.entrypoint)) {
    say(`ENTRYPOINT must be ${JSON.stringify(contract.serve.entrypoint)}, is ${entry}`);
  }
  if (runtime.from !== kBase) say(`the runtime stage must start from ${kBase}`);

  // The packages deploy/runtime-packages.sh found for the binary built here.
  if (runtimePackages) {
    const installDeps = installDepsPackages(readFileSync(path.join(root, "scripts/install-deps.sh"), "utf8"));
    if (installDeps.length === 0) say("found no packages=( ... ) list in scripts/install-deps.sh");
    const closure = dependencyClosure(installDeps);
    for (const p of runtimePackages) {
      if (/-dev$/.test(p)) say(`runtime package ${p} is a -dev package`);
      else if (!closure.has(p)) say(`runtime package ${p} is not a dependency of any package in scripts/install-deps.sh`);
    }
  }
  return problems;
}

export function isFile(p) {
  try { return statSync(p).isFile(); } catch { return false; }
}

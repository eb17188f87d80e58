// There is no Docker engine here, so the Dockerfile's build is replayed outside
// Docker: each stage gets a folder standing for its root filesystem, COPY copies
// from the build context (or another stage's folder) and RUN runs the command in
// the stage's WORKDIR. The final stage's ENTRYPOINT then runs with --help and
// --version, and as the controller against the test cluster, under SIGTERM, with
// a check that it wrote nothing to its (read-only in the image) filesystem.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, posix, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { startController } from "../support/controller.ts";
import { getTestEnv, newNamespace } from "../support/env.ts";
import { chartDir, deletePolicies, root } from "../support/chart.ts";
import { envOf, parseDockerfile, type Stage } from "../support/dockerfile.ts";
import { createDestination } from "../support/aws.ts";
import { installCrd, Policies, samplePolicy } from "../support/policies.ts";

function execFileResult(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { ...options, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file under a folder with its size and modification time, to see whether anything was written. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    out.set(relative(dir, path), `${s.size}:${s.mtimeMs}`);
  }
  return out;
}

const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
const stages = parseDockerfile(dockerfile);
const final = stages.at(-1);
assert.ok(final);

function instructions(stage: Stage, op: string): string[] {
  return stage.instructions.filter((i) => i.op === op).map((i) => i.args);
}

describe("the Dockerfile", () => {
  test("pins every base image by a full version tag and a digest, with CI's Node on the build stages", async () => {
    const versions = await readFile(join(root, "env", "versions.env"), "utf8");
    const node = /^NODE_VERSION=(\S+)/m.exec(versions)?.[1];
    assert.ok(node);
    const names = new Set<string>();
    for (const stage of stages) {
      if (!names.has(stage.from)) {
        assert.match(stage.from, /^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/, stage.from);
        if (stage !== final) assert.ok(stage.from.startsWith(`node:${node}-`), stage.from);
      }
      names.add(stage.name);
    }
    assert.match(final.from, /^gcr\.io\/distroless\/nodejs24-debian12:nonroot@/);
  });

  test("builds with npm ci, npm run build and npm run bundle, and ships the bundle only", () => {
    const runs = stages.flatMap((s) => instructions(s, "RUN"));
    assert.ok(runs.some((r) => /^npm ci\b/.test(r)));
    assert.ok(runs.includes("npm run build"));
    assert.ok(runs.indexOf("npm run build") < runs.indexOf("npm run bundle"));
    assert.deepEqual(
      instructions(final, "COPY").filter((c) => c.startsWith("--from=")),
      ["--from=build /app/out/image/ ./"],
    );
    assert.deepEqual(
      instructions(final, "RUN"),
      [],
      "the final image has no shell to run anything",
    );
  });

  test("runs as a non-root numeric UID, the one the chart's security context sets", async () => {
    const [user] = instructions(final, "USER");
    assert.match(user ?? "", /^[1-9]\d*:[1-9]\d*$/);
    const values = parse(await readFile(join(chartDir, "values.yaml"), "utf8")) as {
      podSecurityContext: { runAsUser: number; runAsGroup: number };
    };
    assert.equal(
      user,
      `${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsGroup}`,
    );
  });

  test("starts node itself as PID 1 in exec form, so SIGTERM reaches the controller", () => {
    const [entrypoint] = instructions(final, "ENTRYPOINT");
    const argv = JSON.parse(entrypoint ?? "[]") as string[];
    assert.deepEqual(argv, ["/nodejs/bin/node", "/app/dist/main.js"]);
    assert.deepEqual(instructions(final, "CMD"), []);
  });

  test("copies into the build context only what .dockerignore lets through", async () => {
    const ignore = await readFile(join(root, ".dockerignore"), "utf8");
    const allowed = ignore
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/$/, ""));
    for (const stage of stages) {
      for (const args of instructions(stage, "COPY")) {
        if (args.startsWith("--from=")) continue;
        const sources = args.split(/\s+/).slice(0, -1);
        for (const source of sources) {
          assert.ok(allowed.includes(source.replace(/\/$/, "")), `${source} is in the context`);
        }
      }
    }
  });
});

describe("the Dockerfile's build replayed without Docker", () => {
  let scratch: string;
  const roots = new Map<string, string>();
  let pkg: { version: string; name: string };
  let finalRoot: string;
  let entrypoint: string[];
  /** The final stage's ENV, which the image's processes run with. */
  let imageEnv: Record<string, string> = {};
  const started = Date.now();

  before(async () => {
    pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as typeof pkg;
    scratch = await mkdtemp(join(tmpdir(), "ldpc-image-"));
    const cache =
      process.env.LDPC_CACHE ?? join(homedir(), ".cache", "log-destination-policy-controller");
    for (const stage of stages) {
      const stageRoot = join(scratch, stage.name);
      const base = roots.get(stage.from);
      if (base) await cp(base, stageRoot, { recursive: true });
      else await mkdir(stageRoot, { recursive: true });
      roots.set(stage.name, stageRoot);
      let workdir = "/";
      const env: Record<string, string> = {};
      const inStage = (path: string) => join(stageRoot, posix.resolve(workdir, path));
      for (const { op, args } of stage.instructions) {
        switch (op) {
          case "WORKDIR":
            workdir = posix.resolve(workdir, args);
            await mkdir(inStage("."), { recursive: true });
            break;
          case "ENV":
            Object.assign(env, envOf(args));
            break;
          case "COPY": {
            const parts = args.split(/\s+/);
            const from = parts[0]?.startsWith("--from=") ? parts.shift()?.slice(7) : undefined;
            const dest = parts.pop() ?? "";
            const sourceRoot = from ? roots.get(from) : root;
            assert.ok(sourceRoot, `COPY --from=${from ?? ""}`);
            for (const source of parts) {
              const src = from ? join(sourceRoot, source) : join(sourceRoot, source);
              const isDir = (await stat(src)).isDirectory();
              const target =
                dest.endsWith("/") && !isDir
                  ? join(inStage(dest), posix.basename(source))
                  : inStage(dest);
              await cp(src, target, { recursive: true });
            }
            break;
          }
          case "RUN": {
            // The replay shares CI's npm cache; Docker's build would download into the layer.
            const result = await execFileResult("sh", ["-c", args], {
              cwd: inStage("."),
              env: {
                ...process.env,
                ...env,
                npm_config_cache: join(cache, "npm"),
                npm_config_prefer_offline: "true",
                npm_config_update_notifier: "false",
              },
            });
            assert.equal(result.code, 0, `RUN ${args}:\n${result.stderr}`);
            break;
          }
          case "ENTRYPOINT":
            entrypoint = JSON.parse(args) as string[];
            break;
          default:
            break; // USER, EXPOSE, LABEL and ARG change nothing on disk
        }
      }
      if (stage === final) imageEnv = env;
    }
    finalRoot = roots.get(final.name) ?? "";
    assert.ok(entrypoint.length > 0);
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  /** The image's ENTRYPOINT with its node replaced by this one and paths moved under the stage folder. */
  function command(): [string, string[]] {
    const [, ...rest] = entrypoint;
    return [process.execPath, rest.map((a) => (a.startsWith("/") ? join(finalRoot, a) : a))];
  }

  test("the final image holds the bundle, its licence notices and package.json, and no node_modules", async (t) => {
    t.diagnostic(
      `replayed ${stages.length} stages in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.deepEqual((await readdir(join(finalRoot, "app"))).sort(), ["dist", "package.json"]);
    assert.deepEqual((await readdir(join(finalRoot, "app", "dist"))).sort(), [
      "THIRD-PARTY-NOTICES.txt",
      "main.js",
    ]);
    const bundle = await stat(join(finalRoot, "app", "dist", "main.js"));
    t.diagnostic(`bundle ${(bundle.size / 1048576).toFixed(2)} MiB`);
    assert.ok(bundle.size < 8 << 20, "the bundle is tree-shaken and minified");
    const notices = await readFile(
      join(finalRoot, "app", "dist", "THIRD-PARTY-NOTICES.txt"),
      "utf8",
    );
    for (const pkg of ["@kubernetes/client-node", "@aws-sdk/client-cloudwatch-logs", "zod"]) {
      assert.match(notices, new RegExp(`^${pkg} \\d`, "m"), pkg);
    }
    assert.match(notices, /Apache License/);
  });

  test("the entry point answers --help and --version with the program name and version", async () => {
    const [node, args] = command();
    const help = await execFileResult(node, [...args, "--help"], { cwd: "/" });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: log-destination-policy-controller/);
    const version = await execFileResult(node, [...args, "--version"], { cwd: "/" });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
  });

  test("the entry point runs the controller, writes no file and exits 0 on SIGTERM", async () => {
    const env = await getTestEnv();
    await installCrd(env);
    const namespace = await newNamespace(env.kubeConfig, "image");
    const policies = new Policies(env.kubeConfig, namespace);
    const before = await snapshot(finalRoot);
    const [, args] = command();
    const controller = await startController(env, {
      entry: args[0] ?? "",
      args: ["--watch-namespace", namespace],
      env: imageEnv,
    });
    const name = `image-${process.pid}`;
    await createDestination(env, name);
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await policies.waitForReason(name, "Applied", 15_000);
    assert.equal(await controller.stop(), 0);
    assert.deepEqual(await snapshot(finalRoot), before);
    await deletePolicies(env, [namespace]);
  });

  // The bundle holds the SDK's credential providers, which the SDK loads on
  // demand: these prove they are in it. Neither test gives static keys.
  const noStaticKeys = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined };

  async function appliedWith(prefix: string, credentialEnv: NodeJS.ProcessEnv): Promise<void> {
    const env = await getTestEnv();
    await installCrd(env);
    const namespace = await newNamespace(env.kubeConfig, prefix);
    const policies = new Policies(env.kubeConfig, namespace);
    const [, args] = command();
    const controller = await startController(env, {
      entry: args[0] ?? "",
      args: ["--watch-namespace", namespace],
      env: { ...imageEnv, ...noStaticKeys, ...credentialEnv },
    });
    try {
      const name = `${prefix}-${process.pid}`;
      await createDestination(env, name);
      await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
      await policies.waitForReason(name, "Applied", 15_000);
    } finally {
      assert.equal(await controller.stop(), 0);
      await deletePolicies(env, [namespace]);
    }
  }

  test("the bundled controller signs in the IRSA way, with a web identity token file and a role", async () => {
    const env = await getTestEnv();
    const tokenFile = join(scratch, "irsa-token");
    await writeFile(tokenFile, "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl");
    const before = (await env.proxy.calls("sts.AssumeRoleWithWebIdentity")).length;
    await appliedWith("irsa", {
      AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/ldpc",
      AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
      AWS_ENDPOINT_URL_STS: env.awsEndpoint,
    });
    const after = (await env.proxy.calls("sts.AssumeRoleWithWebIdentity")).length;
    assert.ok(after > before, "the controller asked STS for web identity credentials");
  });

  test("the bundled controller signs in the EKS Pod Identity way, from the container credentials endpoint", async () => {
    let requests = 0;
    let authorization: string | undefined;
    const agent = createServer((req, res) => {
      requests++;
      authorization = req.headers.authorization;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          AccessKeyId: "ASIAPODIDENTITY00001",
          SecretAccessKey: "pod-identity-secret",
          Token: "pod-identity-session",
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => agent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = agent.address() as AddressInfo;
      const tokenFile = join(scratch, "pod-identity-token");
      await writeFile(tokenFile, "pod-identity-token");
      await appliedWith("pod-identity", {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      });
      assert.ok(requests > 0, "the controller fetched credentials from the agent");
      assert.equal(authorization, "pod-identity-token");
    } finally {
      agent.closeAllConnections();
      await new Promise((resolve) => agent.close(resolve));
    }
  });
});

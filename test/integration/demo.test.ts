// `npm run demo` end to end: it starts its own control plane and controller,
// reaches a settled state with one retry and one invalid spec shown, and stops
// every process it started, both in --once mode and on Ctrl-C.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadExamples } from "../../env/examples.ts";

const root = join(import.meta.dirname, "..", "..");
const started = new Set<ChildProcess>();

after(() => {
  // Only if a test failed half-way: the demo's process group, by its leader's pid.
  for (const child of started) {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
});

interface Demo {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function startDemo(command: string, args: string[]): Demo {
  // Its own process group, so that a signal can reach all of it, as Ctrl-C does.
  const child = spawn(command, args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  started.add(child);
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(code ?? (signal ? -1 : null));
    });
  });
  return { child, output: () => output, exited };
}

/** The pids the demo announced: "pids  moto=1 etcd=2 kube-apiserver=3 controller=4". */
function announcedPids(output: string): Map<string, number> {
  const line = output.split("\n").find((l) => /^\s*pids\s/.test(l));
  assert.ok(line, `the demo prints its pids:\n${output}`);
  return new Map([...line.matchAll(/([\w-]+)=(\d+)/g)].map((m) => [m[1] ?? "", Number(m[2])]));
}

/** `ps -p` lists none of the pids (it exits 1 when it finds none). */
function psFinds(pids: number[]): Promise<string> {
  return new Promise((resolve) => {
    execFile("ps", ["-o", "pid=,stat=,args=", "-p", pids.join(",")], (_err, stdout) => {
      // A zombie waiting for its parent to reap it is not running.
      resolve(
        stdout
          .split("\n")
          .filter((line) => line.trim() !== "" && !/^\s*\d+\s+Z/.test(line))
          .join("\n"),
      );
    });
  });
}

async function assertNothingLeft(output: string): Promise<void> {
  const pids = announcedPids(output);
  for (const name of ["kube-apiserver", "etcd", "moto", "controller"]) {
    assert.ok(pids.has(name), `${name} pid announced`);
  }
  assert.equal(await psFinds([...pids.values()]), "", "no process the demo started still runs");
  assert.match(output, /no process is left running/);
}

const exampleNames = loadExamples().flatMap((e) => e.objects.map((o) => o.metadata.name));

async function waitForOutput(demo: Demo, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(demo.output())) {
    if (demo.child.exitCode !== null) {
      assert.fail(`the demo exited with ${demo.child.exitCode}:\n${demo.output()}`);
    }
    if (Date.now() > deadline) assert.fail(`no ${String(pattern)} in:\n${demo.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("npm run demo", () => {
  test("with --once, settles with one retry and one invalid spec, exits 0 and leaves nothing running", async () => {
    const demo = startDemo("npm", ["run", "--silent", "demo", "--", "--once"]);
    const code = await demo.exited;
    const output = demo.output();
    assert.equal(code, 0, output);
    assert.match(output, /↻ retry: PutDestinationPolicy got OperationAbortedException/);
    assert.match(
      output,
      /✗ sandbox\/broken-policy {2}Ready=False InvalidSpec: spec\.accessPolicy\.Statement\[0\]\.Actions: /,
    );
    assert.match(output, /broken-policy\.yaml:\d+: spec\.accessPolicy\.Statement\[0\]\.Actions: /);
    assert.match(output, new RegExp(`All ${exampleNames.length + 1} objects settled`));
    assert.match(output, /^metrics: http:\/\/127\.0\.0\.1:\d+\/metrics$/m);
    // The final table, as kubectl get ldp -A prints it.
    const table = output.slice(output.lastIndexOf("NAMESPACE"));
    assert.match(table, /^NAMESPACE +NAME +DESTINATION +REGION +MODE +READY +REASON +AGE$/m);
    for (const name of exampleNames) {
      assert.match(
        table,
        new RegExp(`^logging +${name} +\\S+ +\\S+ +Enforce +True +Applied +\\d+s$`, "m"),
      );
    }
    assert.match(table, /^sandbox +broken-policy +.* +False +InvalidSpec +\d+s$/m);
    await assertNothingLeft(output);
  });

  test("Ctrl-C stops the controller and the control plane, leaving no process behind", async () => {
    const demo = startDemo(process.execPath, [join(root, "scripts", "demo.ts")]);
    await waitForOutput(demo, /Ctrl-C stops everything\.$/m, 120_000);
    const pid = demo.child.pid;
    assert.ok(pid);
    // What a terminal does on Ctrl-C: SIGINT to the whole foreground process group.
    process.kill(-pid, "SIGINT");
    const code = await demo.exited;
    const output = demo.output();
    assert.equal(code, 130, output);
    assert.match(output, /SIGINT: stopping the controller and the control plane/);
    await assertNothingLeft(output);
  });

  test("SIGINT to the demo's process alone also stops everything it started", async () => {
    const demo = startDemo(process.execPath, [join(root, "scripts", "demo.ts")]);
    await waitForOutput(demo, /Ready in [\d.]+ s\./, 120_000);
    demo.child.kill("SIGINT");
    const code = await demo.exited;
    const output = demo.output();
    assert.equal(code, 130, output);
    await assertNothingLeft(output);
  });
});

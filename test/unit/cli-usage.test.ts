// The command line's pure parts: the Node.js check that runs before anything
// loads, the nearest-command suggestion, and the completion tree read from
// commander, so that a new flag is completed without touching the scripts.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Command, Option } from "commander";
import { completionTree } from "../../src/cli/completion-tree.ts";
import { completionScript } from "../../src/cli/completion.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { checkCommand, firstOperand, UsageError } from "../../src/cli/usage.ts";
import { renderVersion } from "../../src/cli/version.ts";
import { nodeTooOld } from "../../src/node-version.ts";
import { nearest } from "../../src/util/nearest.ts";

const info = { version: "1.2.3", commit: "unknown" };

describe("the Node.js check", () => {
  test("names the Node.js needed and the one found when it is older", () => {
    assert.equal(
      nodeTooOld(">=22.19", "20.20.2"),
      "log-destination-policy-controller needs Node.js 22.19 or newer, and this is Node.js 20.20.2",
    );
    assert.ok(nodeTooOld(">=22.19", "22.18.9"));
  });

  test("passes a new enough Node.js, and an engines field it cannot read", () => {
    for (const running of ["22.19.0", "22.20.0", "24.0.0", "100.0.0"]) {
      assert.equal(nodeTooOld(">=22.19", running), undefined, running);
    }
    assert.equal(nodeTooOld(undefined, "18.0.0"), undefined);
    assert.equal(nodeTooOld("^22", "18.0.0"), undefined);
  });

  test("the entry point loads nothing but Node.js built-ins and the check before it", () => {
    const root = join(import.meta.dirname, "..", "..", "src");
    const imports = (file: string) =>
      [...readFileSync(join(root, file), "utf8").matchAll(/^import\s[^;]*?from\s+"([^"]+)"/gm)].map(
        (m) => m[1],
      );
    assert.deepEqual(imports("main.ts"), ["node:fs", "./node-version.ts"]);
    assert.deepEqual(imports("node-version.ts"), []);
  });
});

describe("an unknown command", () => {
  test("suggests the nearest command within two edits, ignoring case", () => {
    const names = ["run", "validate", "diff", "version", "completion", "help"];
    assert.equal(nearest("valdiate", names), "validate");
    assert.equal(nearest("VERSOIN", names), "version");
    assert.equal(nearest("dif", names), "diff");
    assert.equal(nearest("frobnicate", names), undefined);
  });

  test("the first operand skips the values of the default command's flags", () => {
    const options = [new Option("--kubeconfig <path>"), new Option("--leader-elect [bool]")];
    assert.equal(firstOperand(["--kubeconfig", "validate", "x"], options), "x");
    assert.equal(firstOperand(["--kubeconfig=k", "valdiate"], options), "valdiate");
    assert.equal(firstOperand(["--leader-elect", "--kubeconfig", "k"], options), undefined);
    assert.equal(firstOperand(["--leader-elect", "true", "diff"], options), "diff");
    assert.equal(firstOperand(["--", "-x"], options), "-x");
  });

  test("is a usage error naming the word and the suggestion; a command or flags alone pass", () => {
    const { program, run } = buildProgram(info);
    assert.throws(
      () => {
        checkCommand(program, run, ["valdiate", "a.yaml"]);
      },
      (error: unknown) =>
        error instanceof UsageError &&
        error.message.startsWith(
          'unknown command "valdiate" for "log-destination-policy-controller"',
        ) &&
        error.message.includes("Did you mean validate?"),
    );
    for (const args of [["validate", "x"], ["--log-level", "debug"], [], ["help", "diff"]]) {
      checkCommand(program, run, args);
    }
  });
});

describe("completion", () => {
  test("the tree holds every command with its flags, the default command's flags at the top", () => {
    const { program, run } = buildProgram(info);
    const tree = completionTree(program, run);
    assert.deepEqual(
      tree.commands.map((c) => c.name),
      ["run", "validate", "diff", "version", "completion", "help"],
    );
    const validate = tree.commands.find((c) => c.name === "validate");
    assert.ok(validate);
    assert.deepEqual(validate.operands, { kind: "files" });
    assert.deepEqual(
      validate.options.find((o) => o.names.includes("--output")),
      {
        names: ["-o", "--output"],
        description: "text (file:line: path: message) or json",
        value: "choices",
        choices: ["text", "json"],
      },
    );
    const completion = tree.commands.find((c) => c.name === "completion");
    assert.deepEqual(completion?.operands, { kind: "choices", choices: ["bash", "zsh", "fish"] });
    assert.equal(tree.defaultCommand, "run");
  });

  test("a flag added to a command appears in every shell's script", () => {
    const program = new Command("tool");
    const sub = program.command("lint").argument("<paths...>");
    sub.addOption(new Option("--brand-new-flag <mode>", "a new one").choices(["a", "b"]));
    const tree = completionTree(program);
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const script = completionScript(shell, tree);
      assert.match(script, /brand-new-flag/, shell);
      assert.match(script, /\blint\b/, shell);
    }
  });

  test("descriptions with quotes and brackets are escaped for each shell", () => {
    const program = new Command("tool");
    program.command("x").description("it's [really] \\ odd");
    const tree = completionTree(program);
    assert.match(completionScript("zsh", tree), /'x:it'\\''s \[really\] \\ odd'/);
    assert.match(completionScript("fish", tree), /-d 'it\\'s \[really\] \\\\ odd'/);
  });
});

describe("version", () => {
  test("text is one aligned line per field", () => {
    const text = renderVersion(
      { version: "1.2.3", commit: "abc1234", node: "24.0.0", platform: "linux/arm64" },
      "text",
    );
    assert.equal(
      text,
      "version:  1.2.3\ncommit:   abc1234\nnode:     24.0.0\nplatform: linux/arm64\n",
    );
  });
});

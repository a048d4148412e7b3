// The GitHub workflows must parse as YAML and keep the promises the README
// makes: CI on every push with Linux tests, all targets built and the macOS
// and Windows binaries smoke-tested; releases on tags with seven binaries and
// SHA256SUMS.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RELEASE_TARGETS, releaseFileName } from "../../scripts/build.ts";

interface Step {
  run?: string;
  uses?: string;
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { "runs-on": string; steps: Step[]; needs?: string; strategy?: { matrix: { include: { target: string }[] } } }>;
}

const WORKFLOWS = join(import.meta.dir, "..", "..", ".github", "workflows");

function load(name: string): Workflow {
  return Bun.YAML.parse(readFileSync(join(WORKFLOWS, name), "utf8")) as Workflow;
}

const runs = (workflow: Workflow, job: string): string => workflow.jobs[job]!.steps.map((step) => step.run ?? "").join("\n");

describe("ci workflow", () => {
  const ci = load("ci.yml");

  test("runs on every push", () => {
    expect(Object.keys(ci.on)).toContain("push");
  });

  test("tests on Linux through .ci/run", () => {
    expect(ci.jobs["test-linux"]!["runs-on"]).toStartWith("ubuntu");
    expect(runs(ci, "test-linux")).toContain(".ci/run");
  });

  test("builds every target", () => {
    expect(runs(ci, "build")).toContain("npm run build -- --all");
  });

  test("smoke-tests both macOS targets", () => {
    const targets = ci.jobs["smoke-macos"]!.strategy!.matrix.include.map((entry) => entry.target).sort();
    expect(targets).toEqual(["darwin-arm64", "darwin-x64"]);
    expect(runs(ci, "smoke-macos")).toContain("clean --dry-run");
  });

  test("smoke-tests the Windows binary", () => {
    expect(ci.jobs["smoke-windows"]!["runs-on"]).toStartWith("windows");
    expect(runs(ci, "smoke-windows")).toContain("--version");
    expect(runs(ci, "smoke-windows")).toContain("clean --dry-run");
  });
});

describe("release workflow", () => {
  const release = load("release.yml");

  test("runs on version tags", () => {
    expect(release.on).toEqual({ push: { tags: ["v*"] } });
  });

  test("attaches every binary and SHA256SUMS", () => {
    const script = runs(release, "release");
    for (const target of RELEASE_TARGETS) expect(script).toContain(`dist/${releaseFileName(target)}`);
    expect(script).toContain("dist/SHA256SUMS");
  });
});

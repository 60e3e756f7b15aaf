import t from "tap";
import type { TestRunner } from "@stryker-mutator/api/test-runner";
import { KillersFirstRunner, mirrorDistance, mirrorTestPath } from "./killers-first-runner.ts";

t.test("a source file's mirror is the test path without the suffix", async (t) => {
  t.equal(mirrorTestPath("src/rules/ports.ts"), "test/rules/ports");
  t.equal(mirrorTestPath("src/field-path.ts"), "test/field-path");
});

t.test("mirror files come first, then their directory, then the rest", async (t) => {
  const mirror = "test/rules/ports";
  t.equal(mirrorDistance("test/rules/ports.test.ts", mirror), 0);
  t.equal(mirrorDistance("test/rules/ports-named.test.ts", mirror), 0);
  t.equal(mirrorDistance("test/rules/ports/endport.test.ts", mirror), 0);
  t.equal(mirrorDistance("test/rules/portsmith.test.ts", mirror), 1, "a longer name is not the mirror");
  t.equal(mirrorDistance("test/rules/cidr.test.ts", mirror), 1);
  t.equal(mirrorDistance("test/lint/lint.test.ts", mirror), 2);
});

t.test("order: mirror, then files that killed mutants of the same source, then the fastest", async (t) => {
  const runner = new KillersFirstRunner({} as TestRunner);
  const files = ["test/a.test.ts", "test/b.test.ts", "test/rules/cidr.test.ts", "test/rules/ports.test.ts"];
  t.same(runner.order("src/rules/ports.ts", files), [
    "test/rules/ports.test.ts",
    "test/rules/cidr.test.ts",
    "test/a.test.ts",
    "test/b.test.ts",
  ]);
  runner.recordKill("src/rules/ports.ts", "test/b.test.ts");
  t.same(runner.order("src/rules/ports.ts", files), [
    "test/rules/ports.test.ts",
    "test/rules/cidr.test.ts",
    "test/b.test.ts",
    "test/a.test.ts",
  ]);
  t.same(
    runner.order("src/rules/cidr.ts", files).slice(0, 2),
    ["test/rules/cidr.test.ts", "test/rules/ports.test.ts"],
    "kills are remembered per source file",
  );
});

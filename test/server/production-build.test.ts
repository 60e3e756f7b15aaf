// The compiled tree (`npm run build`, what the image and the npm package run) works on its own: the
// tests run the TypeScript sources, so a path that only the compiled JS takes is checked here.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import t from "tap";
import type { AdmitPool } from "../../src/server/admit-pool.ts";
import { parseConfig } from "../../src/config.ts";
import { admissionReview, ingressFromCidr } from "../helpers/review.ts";

const root = path.resolve(import.meta.dirname, "../..");
// Inside node_modules/.cache, so that the compiled files resolve their dependencies like dist/ does.
const cache = path.join(root, "node_modules/.cache");
mkdirSync(cache, { recursive: true }); // absent after a fresh `npm ci`
const outDir = mkdtempSync(path.join(cache, "netfence-build-test-"));
t.teardown(() => rmSync(outDir, { recursive: true, force: true }));

t.test("tsc compiles the sources", async (t) => {
  // The native compiler itself: its Node launcher cannot start under tap's process-info hook, which tap
  // passes to every child process.
  const tsc = path.join(root, `node_modules/@typescript/typescript-${process.platform}-${process.arch}/lib/tsc`);
  execFileSync(tsc, ["-p", path.join(root, "tsconfig.json"), "--outDir", outDir], { stdio: "inherit" });
  t.pass("compiled");
});

t.test("the compiled worker pool answers a large review off the main thread", async (t) => {
  const { admitPool } = (await import(path.join(outDir, "server/admit-pool.js"))) as {
    admitPool: (options: { maxThreads: number }) => AdmitPool;
  };
  const pool = admitPool({ maxThreads: 1 });
  t.teardown(() => pool.close());
  const config = parseConfig({});
  const asked: string[] = [];
  const outcome = await pool.run(
    {
      webhook: "validate",
      body: Buffer.from(JSON.stringify(admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")))),
      actions: config.rules,
    },
    (question) => {
      asked.push(`${question.namespace}/${question.name}`);
      return {
        context: {
          namespaceIsolated: false,
          allowedIngressNamespaces: [],
          podCIDRs: [],
          emptySelectorScope: "isolated",
        },
        impact: [],
      };
    },
  );
  if (!outcome.ok) throw new Error(`refused: ${outcome.problem}`);
  t.same(asked, [`${outcome.request.namespace}/${outcome.request.name}`], "the worker asked the main thread once");
  t.equal(outcome.admission.decision, "denied");
  t.match(outcome.admission.review.response.status?.message, /10\.0\.0\.0\/8/);
});

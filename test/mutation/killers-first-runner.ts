// Stryker's tap runner, with the test files of each mutant run in the order most likely to kill it first.
//
// With `forceBail` a mutant's run stops at the first failing test file, and every test file is its own
// Node process (~0.4 s). Stryker hands the covering files over in the dry run's (alphabetical) order, and
// for a static mutant (code run at module load, e.g. a zod schema or a rule's documentation) it runs
// every test file. The files that mirror the mutant's source file (src/rules/ports.ts ->
// test/rules/ports*.test.ts) usually kill it, so they go first; then the files that already killed
// mutants of the same source file in this process; then the rest, fastest first. Only the order
// changes: a surviving mutant still runs every file it ran before, so the score is the tap runner's.
import path from "node:path";
import { commonTokens, declareFactoryPlugin, PluginKind, tokens, type Injector } from "@stryker-mutator/api/plugin";
import type {
  DryRunOptions,
  DryRunResult,
  MutantRunOptions,
  MutantRunResult,
  TestRunner,
  TestRunnerCapabilities,
} from "@stryker-mutator/api/test-runner";
import { createTapTestRunnerFactory } from "@stryker-mutator/tap-runner";

/** Where a test file stands for one mutant: lower runs first. */
interface Rank {
  readonly mirror: number;
  readonly kills: number;
  readonly millis: number;
}

export class KillersFirstRunner implements TestRunner {
  readonly #inner: TestRunner;
  /** Every test file, for static mutants (Stryker passes no filter for them). */
  #allTestFiles: readonly string[] = [];
  /** source file -> test file -> mutants of it the test file killed. */
  readonly #kills = new Map<string, Map<string, number>>();
  /** test file -> last measured run time. */
  readonly #millis = new Map<string, number>();

  constructor(inner: TestRunner) {
    this.#inner = inner;
  }

  capabilities(): TestRunnerCapabilities | Promise<TestRunnerCapabilities> {
    return this.#inner.capabilities();
  }

  async init(): Promise<void> {
    await this.#inner.init?.();
    // The tap runner's own list of test files (its glob of `tap.testFiles`): a static mutant comes without a
    // filter and would run them in glob order. The field is TypeScript-private in the pinned 10.0.0, not
    // hidden at runtime; without it the order stays the tap runner's.
    const testFiles: unknown = Reflect.get(this.#inner, "testFiles");
    if (Array.isArray(testFiles)) this.#allTestFiles = testFiles.filter((file) => typeof file === "string");
  }

  async dispose(): Promise<void> {
    await this.#inner.dispose?.();
  }

  async dryRun(options: DryRunOptions): Promise<DryRunResult> {
    const result = await this.#inner.dryRun(options);
    if (result.status === "complete") {
      for (const test of result.tests) this.#millis.set(test.id, test.timeSpentMs);
    }
    return result;
  }

  async mutantRun(options: MutantRunOptions): Promise<MutantRunResult> {
    const source = relativeSource(options.activeMutant.fileName);
    const candidates = options.testFilter ?? (this.#allTestFiles.length > 0 ? this.#allTestFiles : undefined);
    const testFilter = candidates && this.order(source, candidates);
    const started = Date.now();
    const result = await this.#inner.mutantRun({ ...options, testFilter });
    if (result.status === "killed") {
      for (const killer of result.killedBy) this.recordKill(source, killer);
    } else if (testFilter?.length === 1) {
      this.#millis.set(testFilter[0]!, Date.now() - started);
    }
    return result;
  }

  order(source: string, testFiles: readonly string[]): string[] {
    const mirror = mirrorTestPath(source);
    const kills = this.#kills.get(source);
    const rank = (testFile: string): Rank => ({
      mirror: mirrorDistance(normalise(testFile), mirror),
      kills: -(kills?.get(testFile) ?? 0),
      millis: this.#millis.get(testFile) ?? 0,
    });
    const ranked = testFiles.map((testFile) => ({ testFile, rank: rank(testFile) }));
    ranked.sort(
      (a, b) => a.rank.mirror - b.rank.mirror || a.rank.kills - b.rank.kills || a.rank.millis - b.rank.millis,
    );
    return ranked.map(({ testFile }) => testFile);
  }

  recordKill(source: string, testFile: string): void {
    const bySource = this.#kills.get(source) ?? new Map<string, number>();
    bySource.set(testFile, (bySource.get(testFile) ?? 0) + 1);
    this.#kills.set(source, bySource);
  }
}

/** `src/rules/ports.ts` -> `test/rules/ports` (the test files' common prefix). */
export function mirrorTestPath(source: string): string {
  return `test/${source.replace(/^src\//, "").replace(/\.ts$/, "")}`;
}

/** 0: the mirror file or a sibling named after it; 1: its directory; 2: anything else. */
export function mirrorDistance(testFile: string, mirror: string): number {
  if (testFile.startsWith(`${mirror}.`) || testFile.startsWith(`${mirror}-`) || testFile.startsWith(`${mirror}/`)) {
    return 0;
  }
  return testFile.startsWith(`${path.posix.dirname(mirror)}/`) ? 1 : 2;
}

function normalise(file: string): string {
  const relative = path.isAbsolute(file) ? path.relative(process.cwd(), file) : file;
  return relative.split(path.sep).join("/");
}

function relativeSource(fileName: string): string {
  const relative = normalise(fileName);
  const at = relative.lastIndexOf("src/");
  return at >= 0 ? relative.slice(at) : relative;
}

function createKillersFirstRunner(injector: Injector): KillersFirstRunner {
  return new KillersFirstRunner(createTapTestRunnerFactory()(injector));
}
createKillersFirstRunner.inject = tokens(commonTokens.injector);

export const strykerPlugins = [
  declareFactoryPlugin(PluginKind.TestRunner, "tap-killers-first", createKillersFirstRunner),
];

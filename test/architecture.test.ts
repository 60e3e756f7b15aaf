// The layout as a test: the faces (webhook server, reconciler, linter, audit, allowlist writer,
// explain) build on the core and the shared modules, never on each other; the core imports no face.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import t from "tap";

const SRC = resolve(import.meta.dirname, "../src");
const FACES = ["allow", "audit", "cluster", "explain", "lint", "server"];
/** The composition roots: they wire the faces together, so they may import any of them. */
const ROOTS = ["cli.ts", "serve.ts"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every relative module a file imports, statically or with `import()`, as a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)["'](\.[^"']+)["']/g)].map(
    (match) => match[1]!,
  );
  return specifiers.map((specifier) => relative(SRC, resolve(dirname(file), specifier)));
}

const faceOf = (path: string) => FACES.find((face) => path.startsWith(`${face}/`));

const edges = sourceFiles(SRC).flatMap((file) =>
  importsOf(file).map((target) => ({ from: relative(SRC, file), to: target })),
);

t.test("the import graph is read (a regression guard for this test itself)", async (t) => {
  t.ok(edges.some((edge) => edge.from === "server/app.ts" && edge.to === "admission/handle.ts"));
  t.ok(
    edges.some((edge) => edge.from === "cli.ts" && edge.to === "lint/command.ts"),
    "dynamic imports count",
  );
});

t.test("no face imports from a sibling face", async (t) => {
  const crossings = edges.filter(
    ({ from, to }) => faceOf(from) !== undefined && faceOf(to) !== undefined && faceOf(from) !== faceOf(to),
  );
  t.same(
    crossings.map(({ from, to }) => `${from} -> ${to}`),
    [],
  );
});

t.test("the core and the shared modules import no face", async (t) => {
  const upward = edges.filter(
    ({ from, to }) => faceOf(from) === undefined && !ROOTS.includes(from) && faceOf(to) !== undefined,
  );
  t.same(
    upward.map(({ from, to }) => `${from} -> ${to}`),
    [],
  );
});

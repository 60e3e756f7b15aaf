// Reading manifests: files, directories (recursively *.yaml, *.yml, *.json) and stdin; multi-document
// YAML (with merge keys, as kubectl reads it), JSON, and `kind: List`, nested Lists flattened. Each
// object keeps where it came from, down to the line of a field. A file that cannot be read or is no
// manifest is a problem named with its path; the other files are still read.
import { readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import { extname, join } from "node:path";
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { pathSegments } from "./field-path.ts";
import type { SourceDocument } from "./report/source-document.ts";
import { UserError } from "./user-error.ts";

/** What was read, and what could not be: each problem is one line that starts with its path. */
export interface Manifests {
  documents: SourceDocument[];
  problems: string[];
}

export class InputError extends UserError {
  override name = "InputError";
}

const MANIFEST = new Set([".yaml", ".yml", ".json"]);

const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

function statOf(path: string): Stats | string {
  try {
    return statSync(path);
  } catch (error) {
    return errorCode(error);
  }
}

/** The manifest files under a path, and the entries that cannot be read as one. */
function manifestFiles(path: string, found: { files: string[]; problems: string[] }, explicit: boolean): void {
  const stat = statOf(path);
  if (typeof stat === "string") {
    found.problems.push(
      `${path}: cannot read (${stat}${stat === "ENOENT" && !explicit ? ": a dangling symlink" : ""})`,
    );
    return;
  }
  if (!stat.isDirectory()) {
    found.files.push(path);
    return;
  }
  if (!explicit) {
    // Reached through a symlink named like a manifest: not followed (a link to a parent would loop).
    found.problems.push(
      `${path}: is a directory behind a symlink, not a manifest file; name the directory itself to read it`,
    );
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith(".")) manifestFiles(child, found, true);
    } else if (MANIFEST.has(extname(entry.name))) {
      manifestFiles(child, found, !entry.isSymbolicLink());
    }
  }
}

function lineFinder(document: Document, counter: LineCounter, itemPath: (string | number)[]) {
  return (path: string): number | undefined => {
    const segments = [...itemPath, ...pathSegments(path)];
    // A missing field (a required one) is reported where its parent is.
    for (let length = segments.length; length >= 0; length--) {
      const node = document.getIn(segments.slice(0, length), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return counter.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

const NOT_A_MANIFEST =
  "a manifest is a mapping with apiVersion and kind (several objects: `kind: List` with `items`, or `---` between documents)";

/** Parses one file's text into its objects; each document that is no manifest is a problem with its line. */
export function readManifestText(source: string, text: string): Manifests {
  if (text.includes("\0")) return { documents: [], problems: [`${source}: a binary file, not a manifest`] };
  const counter = new LineCounter();
  // merge: `<<: *base` as kubectl resolves it (YAML 1.1 merge keys), not as a key named `<<`.
  const parsed = parseAllDocuments(text, { lineCounter: counter, merge: true });
  const documents: SourceDocument[] = [];
  const problems: string[] = [];
  for (const document of Array.isArray(parsed) ? parsed : []) {
    const startLine = counter.linePos(document.contents?.range[0] ?? document.range[0]).line;
    const error = document.errors[0];
    if (error !== undefined) {
      const line = error.linePos?.[0]?.line ?? counter.linePos(error.pos[0]).line;
      problems.push(`${source}:${line}: YAML syntax error: ${error.message.split("\n")[0]}`);
      continue;
    }
    const object = document.toJS({ maxAliasCount: 100 }) as unknown;
    if (object === null || object === undefined) continue;
    if (typeof object !== "object") {
      problems.push(
        `${source}:${startLine}: a ${typeof object} (${JSON.stringify(String(object).slice(0, 40))}), not a manifest: ${NOT_A_MANIFEST}`,
      );
      continue;
    }
    if (Array.isArray(object)) {
      problems.push(`${source}:${startLine}: a sequence, not a manifest: ${NOT_A_MANIFEST}`);
      continue;
    }
    const add = (item: unknown, itemPath: (string | number)[]): void => {
      // kubectl flattens a List inside a List: so do we, at any depth.
      if (isList(item)) item.items.forEach((inner, i) => add(inner, [...itemPath, "items", i]));
      else
        documents.push({
          source,
          index: documents.length,
          object: item,
          lineOf: lineFinder(document, counter, itemPath),
        });
    };
    add(object, []);
  }
  return { documents, problems };
}

/** One file's objects; its first problem is thrown as an InputError naming the line. */
export function parseManifests(source: string, text: string): SourceDocument[] {
  const { documents, problems } = readManifestText(source, text);
  if (problems[0] !== undefined) throw new InputError(problems[0]);
  return documents;
}

function isList(object: unknown): object is { items: unknown[] } {
  if (object === null || typeof object !== "object") return false;
  const { kind, items } = object as { kind?: unknown; items?: unknown };
  return typeof kind === "string" && kind.endsWith("List") && Array.isArray(items);
}

export function readManifests(paths: readonly string[], readStdin: () => string): Manifests {
  const out: Manifests = { documents: [], problems: [] };
  const add = (read: Manifests) => {
    out.documents.push(...read.documents);
    out.problems.push(...read.problems);
  };
  for (const path of paths.length === 0 ? ["-"] : paths) {
    if (path === "-") {
      add(readManifestText("-", readStdin()));
      continue;
    }
    const found = { files: [] as string[], problems: [] as string[] };
    manifestFiles(path, found, true);
    out.problems.push(...found.problems);
    for (const file of found.files) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        out.problems.push(`${file}: cannot read (${errorCode(error)})`);
        continue;
      }
      add(readManifestText(file, text));
    }
  }
  return out;
}

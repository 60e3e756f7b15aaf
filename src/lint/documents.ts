// Reading manifests: files, directories (recursively *.yaml, *.yml, *.json) and stdin; multi-document
// YAML, JSON, and `kind: List`. Each object keeps where it came from, down to the line of a field.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { pathSegments } from "../field-path.ts";
import type { SourceDocument } from "../report/source-document.ts";
import { UserError } from "../user-error.ts";

export class InputError extends UserError {
  override name = "InputError";
}

const MANIFEST = new Set([".yaml", ".yml", ".json"]);

function manifestFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new InputError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return entry.name.startsWith(".") ? [] : manifestFiles(child);
      return MANIFEST.has(extname(entry.name)) ? [child] : [];
    });
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

/** Parses one file's text into its objects; a YAML syntax error is an InputError with the line. */
export function parseManifests(source: string, text: string): SourceDocument[] {
  const counter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: counter });
  if (!Array.isArray(documents)) return [];
  const out: SourceDocument[] = [];
  for (const document of documents) {
    const error = document.errors[0];
    if (error !== undefined) {
      const line = error.linePos?.[0]?.line ?? counter.linePos(error.pos[0]).line;
      throw new InputError(`${source}:${line}: YAML syntax error: ${error.message.split("\n")[0]}`);
    }
    const object = document.toJS({ maxAliasCount: 100 }) as unknown;
    if (object === null || object === undefined) continue;
    const items = isList(object) ? object.items : undefined;
    if (items !== undefined) {
      items.forEach((item, i) => out.push({ source, index: out.length, object: item, lineOf: lineFinder(document, counter, ["items", i]) }));
    } else {
      out.push({ source, index: out.length, object, lineOf: lineFinder(document, counter, []) });
    }
  }
  return out;
}

function isList(object: unknown): object is { items: unknown[] } {
  if (object === null || typeof object !== "object") return false;
  const { kind, items } = object as { kind?: unknown; items?: unknown };
  return typeof kind === "string" && kind.endsWith("List") && Array.isArray(items);
}

export function readManifests(paths: readonly string[], readStdin: () => string): SourceDocument[] {
  const sources = paths.length === 0 ? ["-"] : paths;
  return sources.flatMap((path) => {
    if (path === "-") return parseManifests("-", readStdin());
    return manifestFiles(path).flatMap((file) => parseManifests(file, readFileSync(file, "utf8")));
  });
}

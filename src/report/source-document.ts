// One object to check, and where it came from: a manifest file (lint) or the cluster (audit).

export interface SourceDocument {
  /** File path, or `-` for stdin, or `cluster` for audit. */
  source: string;
  /** Index of the document in its file (items of a List count one each). */
  index: number;
  object: unknown;
  /** The line a field path sits on, when the object came from text. */
  lineOf?: (path: string) => number | undefined;
}

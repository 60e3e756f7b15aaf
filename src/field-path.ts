// Kubernetes-style field paths (`spec.ingress[0].from[1].ipBlock.except[2]`), built by walking down
// the object the way pkg/util/validation/field.Path does, never by concatenating strings by hand.

export type PathSegment = string | number;

export class FieldPath {
  readonly segments: readonly PathSegment[];

  private constructor(segments: readonly PathSegment[]) {
    this.segments = segments;
  }

  static root(...names: string[]): FieldPath {
    return new FieldPath(names);
  }

  /** From raw keys (a zod issue path): keys that are not plain field names become map entries. */
  static of(segments: readonly PathSegment[]): FieldPath {
    return new FieldPath(segments.map((s) => (typeof s === "string" && !/^[A-Za-z_$][\w$]*$/.test(s) ? `[${s}]` : s)));
  }

  child(...names: string[]): FieldPath {
    return new FieldPath([...this.segments, ...names]);
  }

  index(i: number): FieldPath {
    return new FieldPath([...this.segments, i]);
  }

  /** A map entry, such as a label key, which may itself contain dots. */
  key(key: string): FieldPath {
    return new FieldPath([...this.segments, `[${key}]`]);
  }

  toString(): string {
    let out = "";
    for (const segment of this.segments) {
      if (typeof segment === "number") out += `[${segment}]`;
      else if (segment.startsWith("[")) out += segment;
      else out += out === "" ? segment : `.${segment}`;
    }
    return out;
  }
}

const SEGMENT = /([^.[\]]+)|\[(\d+)\]|\[([^\]]*)\]/g;

/** The keys a path string walks: `spec.ingress[0]` -> ["spec", "ingress", 0]. */
export function pathSegments(path: string): PathSegment[] {
  return [...path.matchAll(SEGMENT)].map(
    ([, name, index, key]) => name ?? (index !== undefined ? Number(index) : key!),
  );
}

/** The value a path string points at, or `found: false` when the path does not exist in the object. */
export function valueAtPath(object: unknown, path: string): { found: boolean; value: unknown } {
  let current: unknown = object;
  for (const segment of pathSegments(path)) {
    if (current === null || typeof current !== "object") return { found: false, value: undefined };
    if (Array.isArray(current) !== (typeof segment === "number")) return { found: false, value: undefined };
    if (!Object.hasOwn(current, segment)) return { found: false, value: undefined };
    current = (current as Record<string | number, unknown>)[segment];
  }
  return { found: true, value: current };
}

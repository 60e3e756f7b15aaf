// zod's parse returns a copy of every object and array its schema describes: about 45 KB of garbage
// for a 3 KB NetworkPolicy, on every admission request (issue 17). Almost every object the webhook
// receives is already exactly what the parse would return. `zeroCopyParser` compiles a zod schema,
// once, into a check that says so without building anything, and then hands back the input itself.
// When the check cannot say so (a shape error, a null the schema turns into undefined, a `__proto__`
// key zod drops), zod parses as before: errors, their paths and messages stay zod's own, and zod
// stays the one definition of every schema.
//
// The check is conservative: it answers true only when zod would succeed and return a value equal to
// the input. Each schema type it does not know is asked of zod itself, and accepted only when zod
// returns the very same value (a string, a number, an `unknown` member): a new kind of schema can make
// the check slower, never wrong.
import { z } from "zod";

type Check = (value: unknown) => boolean;
type Schema = z.core.$ZodType;

/**
 * `schema.safeParse`, except that a valid input that needs no change is returned as is, not copied.
 * Callers must treat the data as read-only: it is the caller's input. One difference with zod remains
 * by design: keys a non-`loose` object does not declare stay in place (zod would strip them); the
 * output type does not show them.
 */
export function zeroCopyParser<T extends z.ZodType>(schema: T): (value: unknown) => z.ZodSafeParseResult<z.output<T>> {
  const returnsInput = compile(schema);
  return (value) => (returnsInput(value) ? { success: true, data: value as z.output<T> } : schema.safeParse(value));
}

/** Asks zod; true only when the parse succeeds with the input itself (so: never for a container). */
function askZod(schema: Schema): Check {
  return (value) => {
    const parsed = z.safeParse(schema, value);
    return parsed.success && parsed.data === value;
  };
}

/** As JSON.parse makes them; zod's copy of any other object would be a plain object, so not equal. */
/** Checks that answer false only when zod fails too: a union need not ask zod about that option. */
const EXACT = new WeakSet<Check>();
const exact = (check: Check): Check => (EXACT.add(check), check);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;

/** zod leaves `__proto__` out of its copies, so an object holding one as an own key is not returned as is. */
const hasProtoKey = (value: object) => Object.hasOwn(value, "__proto__");

function compile(schema: Schema): Check {
  const def = schema._zod.def;
  switch (def.type) {
    case "string":
      return def.checks?.length ? askZod(schema) : exact((value) => typeof value === "string");
    case "number":
      // z.number() refuses NaN and the infinities; JSON has neither, but other callers might.
      if (!def.checks?.length) return exact((value) => typeof value === "number" && Number.isFinite(value));
      // .int() (ports): a safe integer.
      if (
        def.checks.every(
          (check) =>
            check._zod.def.check === "number_format" &&
            (check._zod.def as z.core.$ZodCheckNumberFormatDef).format === "safeint",
        )
      )
        return exact((value) => Number.isSafeInteger(value));
      return askZod(schema);
    case "boolean":
      return exact((value) => typeof value === "boolean");
    case "unknown":
    case "any":
      return () => true;
    case "optional": {
      const inner = compile((def as z.core.$ZodOptionalDef).innerType);
      return (value) => value === undefined || inner(value);
    }
    case "nullable": {
      const inner = compile((def as z.core.$ZodNullableDef).innerType);
      return (value) => value === null || inner(value);
    }
    case "array": {
      if (def.checks?.length) return askZod(schema);
      const element = compile((def as z.core.$ZodArrayDef).element);
      return (value) => {
        if (!Array.isArray(value)) return false;
        for (const item of value) if (!element(item)) return false;
        return true;
      };
    }
    case "record": {
      const { keyType, valueType } = def as z.core.$ZodRecordDef;
      // Any string is a key: the only record key type netfence uses. Others go to zod.
      if (def.checks?.length || keyType._zod.def.type !== "string" || keyType._zod.def.checks?.length)
        return askZod(schema);
      const entry = compile(valueType);
      return (value) => {
        if (!isPlainObject(value) || hasProtoKey(value)) return false;
        for (const key in value) if (!entry(value[key])) return false;
        return true;
      };
    }
    case "object":
      return compileObject(schema, def as z.core.$ZodObjectDef);
    case "pipe": {
      // z.preprocess(fn, schema): returned as is when fn hands the value back unchanged.
      const { in: before, out: after } = def as z.core.$ZodPipeDef;
      const transform = (before._zod.def as Partial<z.core.$ZodTransformDef>).transform;
      // A transform that reads zod's context (to add issues) cannot be called outside zod.
      if (before._zod.def.type !== "transform" || transform === undefined || transform.length > 1)
        return askZod(schema);
      const out = compile(after);
      return (value) => (transform as (input: unknown) => unknown)(value) === value && out(value);
    }
    case "union": {
      // zod returns the first option that succeeds: the value comes back as is only if that option
      // returns it as is.
      const options = (def as z.core.$ZodUnionDef).options.map((option) => ({ option, check: compile(option) }));
      return (value) => {
        for (const { option, check } of options) {
          if (check(value)) return true;
          if (!EXACT.has(check) && z.safeParse(option, value).success) return false;
        }
        return false;
      };
    }
    default:
      return askZod(schema);
  }
}

function compileObject(schema: Schema, def: z.core.$ZodObjectDef): Check {
  // `loose` keeps unknown keys by reference, the default (strip) ignores them; `strict` refuses them.
  const catchall = def.catchall?._zod.def.type;
  if (def.checks?.length || (catchall !== undefined && catchall !== "unknown" && catchall !== "any"))
    return askZod(schema);
  const fields = Object.entries(def.shape).map(([key, field]) => ({
    key,
    check: compile(field),
    // What zod does with an absent key (its handlePropertyResult): nothing, only for a schema that
    // is optional on both sides; otherwise an issue, or a value it makes up.
    mayBeAbsent: field._zod.optin === "optional" && field._zod.optout === "optional",
  }));
  return (value) => {
    if (!isPlainObject(value) || hasProtoKey(value)) return false;
    for (const { key, check, mayBeAbsent } of fields) {
      // `in`, as zod tests presence.
      if (!(key in value)) {
        if (!mayBeAbsent) return false;
      } else if (!check(value[key])) return false;
    }
    return true;
  };
}

// The impact warnings' texts: one line, at most 120 characters with the rule ID in front (the
// apiserver cuts warnings at 256 and kubectl prints them as they are), the count, and the most
// telling example. The example is what gets shortened when a name is long, never the count.
import { WARNING_MAX_CHARS } from "../admission/response.ts";
import type { ExampleFlow, FlowSummary } from "./impact.ts";

/** The rule ID and the space before the message. */
const ID_CHARS = "NP050 ".length;
const MESSAGE_MAX_CHARS = WARNING_MAX_CHARS - ID_CHARS;

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 3))}...`;
}

/** `from -> to ports` in `room` characters: the names give way first (the longer one more), the ports never. */
function exampleText(example: ExampleFlow, room: number): string {
  const full = `${example.from} -> ${example.to} ${example.ports}`;
  if (full.length <= room) return full;
  const names = room - " -> ".length - ` ${example.ports}`.length;
  const from = shorten(example.from, Math.max(Math.floor(names / 2), names - example.to.length));
  const to = shorten(example.to, names - from.length);
  return shorten(`${from} -> ${to} ${example.ports}`, room);
}

function withExample(head: string, example: string | ExampleFlow | undefined): string {
  if (example === undefined) return shorten(head, MESSAGE_MAX_CHARS);
  const prefix = `${head}, e.g. `;
  const room = MESSAGE_MAX_CHARS - prefix.length;
  return room < 20
    ? shorten(head, MESSAGE_MAX_CHARS)
    : prefix + (typeof example === "string" ? shorten(example, room) : exampleText(example, room));
}

/** `cuts off 12 flows now allowed and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080` */
export function changeMessage(verb: "cuts off" | "opens", summary: FlowSummary): string | undefined {
  const now = verb === "cuts off" ? "now allowed" : "now denied";
  // Traffic with addresses outside the cluster is summarised: which workloads, never which CIDRs.
  if (summary.flows === 0)
    return summary.external === 0
      ? undefined
      : withExample(`${verb} external traffic of ${plural(summary.external, "workload")}`, summary.externalExample);
  const head = `${verb} ${plural(summary.flows, "flow")} ${now}${summary.external > 0 ? " and external traffic" : ""}`;
  return withExample(head, summary.examples[0]);
}

/** `cuts off 3 flows from allowedIngressNamespaces, e.g. monitoring/prometheus -> team-a/api TCP/8080` */
export function allowedNamespacesMessage(summary: FlowSummary): string | undefined {
  if (summary.fromAllowedNamespaces === 0) return undefined;
  return withExample(
    `cuts off ${plural(summary.fromAllowedNamespaces, "flow")} from allowedIngressNamespaces`,
    summary.examples[0],
  );
}

// Output of `netfence explain` and `netfence diff`: the engine's structures printed, in text for a
// terminal, JSON for programs, Markdown for a pull-request comment, Graphviz DOT for a picture.
import type {
  BuiltCluster,
  ConnectivityDiff,
  Engine,
  Explanation,
  FlowChange,
  PortEntry,
  PortSet,
  Problem,
  SideExplanation,
  SidePorts,
  WorkloadClass,
} from "../connectivity/index.ts";
import { describePorts, externalGroups, portEntries } from "../connectivity/index.ts";

export type ExplainFormat = "text" | "json" | "md" | "dot";

export interface Context {
  cluster: BuiltCluster;
  engine: Engine;
}

// ---------------------------------------------------------------- one flow

function sideText(side: SideExplanation | null, label: string, endpoint: string): string[] {
  if (side === null) return [`${label}: ${endpoint} is outside the cluster: no policy applies on this side`];
  if (!side.isolated)
    return [`${label} (${side.workload}): allowed: no NetworkPolicy selects it for ${label}, so it is not isolated`];
  const lines = [`${label} (${side.workload}): ${side.verdict}: isolated by ${side.policies.join(", ")}`];
  for (const match of side.allowedBy)
    lines.push(
      `  allowed by ${match.policy} ${match.path}${match.peer === null ? " (a rule without peers: any)" : ` ${JSON.stringify(match.peer)}`}, ports: ${match.ports}`,
    );
  for (const match of side.unknownBy)
    lines.push(
      `  would be allowed by ${match.policy} ${match.path} ${JSON.stringify(match.peer)} if the workload's IP falls in it (not known yet), ports: ${match.ports}`,
    );
  if (side.allowedBy.length === 0 && side.unknownBy.length === 0)
    lines.push(`  no rule of these policies admits this flow`);
  return lines;
}

function problemLines(problems: readonly Problem[]): string[] {
  return problems.length === 0
    ? []
    : [
        "",
        "not evaluated (netfence lint names these too):",
        ...problems.map((p) => `  - ${p.policy} ${p.path}: ${p.message}`),
      ];
}

export function renderExplanation(explanation: Explanation, context: Context, format: "text" | "json"): string {
  if (format === "json") return `${JSON.stringify({ ...explanation, problems: context.engine.problems }, null, 2)}\n`;
  const lines = [
    `${explanation.from} -> ${explanation.to} ${explanation.protocol} ${explanation.port}: ${explanation.verdict.toUpperCase()}`,
    "",
    ...sideText(explanation.egress, "egress", explanation.from),
    ...sideText(explanation.ingress, "ingress", explanation.to),
  ];
  if (explanation.notes.length > 0) lines.push("", "notes:", ...explanation.notes.map((n) => `  - ${n}`));
  lines.push(...problemLines(context.engine.problems));
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- the matrix

export interface MatrixRow {
  from: string[];
  to: string[];
  ports: PortEntry[];
  /** Ports that depend on pod IPs not known yet (ipBlocks against templates). */
  unknownPorts: PortEntry[];
}

export interface ExternalRow {
  direction: "egress" | "ingress";
  workloads: string[];
  cidrs: string[];
  ports: PortEntry[];
}

export interface MatrixView {
  workloads: number;
  classes: number;
  namespaces: string[];
  isolated: string[];
  rows: MatrixRow[];
  external: ExternalRow[];
}

const ids = (c: WorkloadClass) => c.members.map((m) => m.id);

export function matrixView(context: Context, namespace: string | undefined): MatrixView {
  const matrix = context.engine.matrix();
  const touches = (c: WorkloadClass) => namespace === undefined || c.namespace === namespace;
  const rows: MatrixRow[] = [];
  const external: ExternalRow[] = [];
  const sorted = [...matrix.classes].sort((a, b) => (ids(a)[0]! < ids(b)[0]! ? -1 : 1));
  for (const source of sorted) {
    for (const destination of sorted) {
      if (!touches(source) && !touches(destination)) continue;
      // A pod talking to itself is not subject to NetworkPolicy.
      if (source === destination && source.members.length === 1) continue;
      const cell: SidePorts = matrix.cell(source.index, destination.index);
      const ports = portEntries(cell.allowed);
      const unknownPorts = portEntries(cell.unknown);
      if (ports.length > 0 || unknownPorts.length > 0)
        rows.push({ from: ids(source), to: ids(destination), ports, unknownPorts });
    }
  }
  for (const c of sorted.filter(touches)) {
    for (const group of externalGroups(matrix.egressExternal(c.index)))
      external.push({ direction: "egress", workloads: ids(c), cidrs: group.cidrs, ports: portEntries(group.ports) });
    for (const group of externalGroups(matrix.ingressExternal(c.index)))
      external.push({ direction: "ingress", workloads: ids(c), cidrs: group.cidrs, ports: portEntries(group.ports) });
  }
  return {
    workloads: context.cluster.workloads.length,
    classes: matrix.classes.length,
    namespaces: [...new Set(sorted.map((c) => c.namespace))],
    isolated: context.cluster.isolated,
    rows,
    external,
  };
}

function portsText(entries: readonly PortEntry[]): string {
  const set: Record<string, [number, number][]> = { TCP: [], UDP: [], SCTP: [] };
  for (const e of entries) set[e.protocol]!.push([e.port, e.endPort]);
  return describePorts(set as unknown as PortSet);
}

function membersText(members: readonly string[], limit = 3): string {
  return members.length <= limit
    ? members.join(", ")
    : `${members.slice(0, limit).join(", ")} (+${members.length - limit} more)`;
}

function rowPorts(row: MatrixRow): string {
  const known = row.ports.length > 0 ? portsText(row.ports) : "";
  const unknown = row.unknownPorts.length > 0 ? `unknown (pod IP not known): ${portsText(row.unknownPorts)}` : "";
  return [known, unknown].filter((s) => s !== "").join("; ");
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function summaryLine(view: MatrixView, context: Context): string {
  const isolated = view.isolated.length > 0 ? `; isolated by netfence: ${view.isolated.join(", ")}` : "";
  const { namespaces, policies } = context.cluster;
  return `${plural(view.workloads, "workload")} (${plural(view.classes, "distinct shape")}) in ${plural(namespaces.length, "namespace")}, ${plural(policies.length, "NetworkPolicy", "NetworkPolicies")}${isolated}`;
}

function contextNotes(context: Context): string[] {
  const notes: string[] = [];
  if (context.cluster.assumedNamespaces.length > 0)
    notes.push(
      `no Namespace object for ${context.cluster.assumedNamespaces.join(", ")}: only their name label is known`,
    );
  for (const s of context.cluster.skipped) notes.push(`skipped ${s.object}: ${s.reason}`);
  return notes;
}

export function renderMatrix(view: MatrixView, context: Context, format: ExplainFormat): string {
  if (format === "json")
    return `${JSON.stringify({ ...view, problems: context.engine.problems, notes: contextNotes(context) }, null, 2)}\n`;
  if (format === "dot") return renderDot(view);
  const md = format === "md";
  const lines = [md ? `**Connectivity**: ${summaryLine(view, context)}` : summaryLine(view, context)];
  for (const namespace of view.namespaces) {
    const inside = view.rows.filter((r) => r.from[0]!.startsWith(`${namespace}/`));
    const out = view.external.filter((e) => e.direction === "egress" && e.workloads[0]!.startsWith(`${namespace}/`));
    const into = view.external.filter((e) => e.direction === "ingress" && e.workloads[0]!.startsWith(`${namespace}/`));
    if (inside.length + out.length + into.length === 0) continue;
    const rows = [
      ...inside.map((r) => [membersText(r.from), membersText(r.to), rowPorts(r)]),
      ...out.map((e) => [membersText(e.workloads), `outside: ${e.cidrs.join(", ")}`, portsText(e.ports)]),
      ...into.map((e) => [`outside: ${e.cidrs.join(", ")}`, membersText(e.workloads), portsText(e.ports)]),
    ];
    lines.push("");
    if (md) {
      lines.push(
        `### ${namespace}`,
        "",
        "| from | to | ports |",
        "| --- | --- | --- |",
        ...rows.map((r) => `| ${r.map(escapeMd).join(" | ")} |`),
      );
    } else {
      lines.push(`namespace ${namespace}`, ...table(["FROM", "TO", "PORTS"], rows).map((l) => `  ${l}`));
    }
  }
  const notes = [
    ...contextNotes(context),
    ...context.engine.problems.map((p) => `not evaluated: ${p.policy} ${p.path}: ${p.message}`),
  ];
  if (notes.length > 0) lines.push("", md ? "**Notes**" : "notes:", ...notes.map((n) => `${md ? "-" : "  -"} ${n}`));
  return `${lines.join("\n")}\n`;
}

const escapeMd = (text: string) => text.replace(/\|/g, "\\|");

function renderDot(view: MatrixView): string {
  const quote = (s: string) => JSON.stringify(s);
  const node = (members: readonly string[]) => quote(membersText(members));
  const lines = [
    "digraph connectivity {",
    "  rankdir=LR;",
    "  node [shape=box, fontname=Helvetica];",
    "  edge [fontname=Helvetica, fontsize=10];",
  ];
  const byNamespace = new Map<string, Set<string>>();
  for (const r of view.rows)
    for (const members of [r.from, r.to])
      byNamespace.set(
        members[0]!.split("/")[0]!,
        (byNamespace.get(members[0]!.split("/")[0]!) ?? new Set()).add(node(members)),
      );
  for (const e of view.external)
    byNamespace.set(
      e.workloads[0]!.split("/")[0]!,
      (byNamespace.get(e.workloads[0]!.split("/")[0]!) ?? new Set()).add(node(e.workloads)),
    );
  [...byNamespace.entries()].forEach(([namespace, nodes], i) => {
    lines.push(
      `  subgraph cluster_${i} {`,
      `    label=${quote(namespace)};`,
      ...[...nodes].map((n) => `    ${n};`),
      "  }",
    );
  });
  for (const r of view.rows)
    lines.push(
      `  ${node(r.from)} -> ${node(r.to)} [label=${quote(rowPorts(r))}${r.ports.length === 0 ? ", style=dashed" : ""}];`,
    );
  for (const e of view.external) {
    const outside = quote(`outside: ${e.cidrs.join(", ")}`);
    lines.push(`  ${outside} [shape=ellipse];`);
    lines.push(
      e.direction === "egress"
        ? `  ${node(e.workloads)} -> ${outside} [label=${quote(portsText(e.ports))}];`
        : `  ${outside} -> ${node(e.workloads)} [label=${quote(portsText(e.ports))}];`,
    );
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- diff

const endText = (end: FlowChange["from"]) => (typeof end === "string" ? end : end.cidr);

export function renderDiff(diff: ConnectivityDiff, format: "text" | "json" | "md"): string {
  if (format === "json") return `${JSON.stringify(diff, null, 2)}\n`;
  const sections = [
    { key: "removed" as const, title: "cut off (allowed before, denied after)" },
    { key: "added" as const, title: "opened (denied before, allowed after)" },
    { key: "unknown" as const, title: "depends on pod IPs not known yet (before or after)" },
  ].filter((s) => diff[s.key].length > 0);
  if (sections.length === 0) return "no change in connectivity\n";
  const lines: string[] = [];
  for (const { key, title } of sections) {
    const rows = diff[key].map((e) => [endText(e.from), endText(e.to), portsText(e.ports)]);
    if (lines.length > 0) lines.push("");
    if (format === "md")
      lines.push(
        `### ${title}: ${diff[key].length}`,
        "",
        "| from | to | ports |",
        "| --- | --- | --- |",
        ...rows.map((r) => `| ${r.map(escapeMd).join(" | ")} |`),
      );
    else lines.push(`${title}: ${diff[key].length}`, ...table(["FROM", "TO", "PORTS"], rows).map((l) => `  ${l}`));
  }
  return `${lines.join("\n")}\n`;
}

// Reads a V8 CPU profile (`npm run bench -- --profile` writes one per server) and prints where the
// time went: the functions with the most self time and the most inclusive time. It also writes the
// folded stacks next to the profile (FILE.folded), the input of flamegraph.pl or speedscope.
//
//   node bench/profile.ts bench/results/profiles-<stamp>/netfence.cpuprofile [--top 30] [--match REGEX]
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "30" }, match: { type: "string" } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write("usage: node bench/profile.ts FILE.cpuprofile [--top N] [--match REGEX]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
const top = Number(values.top);
const match = values.match !== undefined ? new RegExp(values.match) : undefined;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where =
    url === ""
      ? ""
      : ` ${url
          .replace(/^file:\/\//, "")
          .split("/")
          .slice(-2)
          .join("/")}:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"}${where}`;
};

const timeByNode = new Map<number, number>();
profile.samples.forEach((id, i) => timeByNode.set(id, (timeByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const folded = new Map<string, number>();
let total = 0;
for (const [id, micros] of timeByNode) {
  total += micros;
  const node = byId.get(id)!;
  self.set(label(node), (self.get(label(node)) ?? 0) + micros);
  const stack: string[] = [];
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const name = label(byId.get(cur)!);
    stack.push(name);
    if (!seen.has(name)) {
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
  }
  const key = stack.reverse().join(";");
  folded.set(key, (folded.get(key) ?? 0) + micros);
}

const pct = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
const print = (title: string, table: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  const rows = [...table].filter(([name]) => match === undefined || match.test(name)).sort((a, b) => b[1] - a[1]);
  for (const [name, micros] of rows.slice(0, top)) process.stdout.write(`${pct(micros)}  ${name}\n`);
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled\n`);
print("self time", self);
print("inclusive time", inclusive);
writeFileSync(
  `${file}.folded`,
  [...folded].map(([stack, micros]) => `${stack} ${Math.round(micros)}`).join("\n") + "\n",
);
process.stdout.write(`\nfolded stacks: ${file}.folded\n`);

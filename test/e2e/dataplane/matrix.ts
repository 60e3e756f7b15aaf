// The connectivity matrix of a set of pods, probed on packets: every ordered pair of distinct pods,
// TCP and UDP. A pod talking to itself never leaves its namespace (no policy applies), so the diagonal
// is not probed.
import type { Dataplane, Pod, ProbeResult, Protocol } from "./dataplane.ts";

export const PROTOCOLS: readonly Protocol[] = ["TCP", "UDP"];

export interface Flow {
  from: Pod;
  to: Pod;
  protocol: Protocol;
}

export interface Cell extends Flow {
  open: boolean;
  /** What the probe got: the answering pod, or the error (ECONNREFUSED for a REJECT). */
  detail: string;
}

export type Matrix = Cell[];

export function flows(pods: readonly Pod[]): Flow[] {
  return pods.flatMap((from) =>
    pods.filter((to) => to !== from).flatMap((to) => PROTOCOLS.map((protocol) => ({ from, to, protocol }))),
  );
}

const describe = (result: ProbeResult) => ("answer" in result ? `answered ${result.answer}` : result.error);

export async function probeMatrix(dataplane: Dataplane, pods: readonly Pod[], port: number): Promise<Matrix> {
  return Promise.all(
    flows(pods).map(async (flow) => {
      const result = await dataplane.probe(flow.from, flow.to, port, flow.protocol);
      return { ...flow, open: dataplane.isOpen(result, flow.to), detail: describe(result) };
    }),
  );
}

/** One line per flow whose probed verdict is not the expected one. */
export function mismatches(matrix: Matrix, expectOpen: (flow: Flow) => boolean): string[] {
  return matrix
    .filter((cell) => cell.open !== expectOpen(cell))
    .map(
      (cell) =>
        `${cell.from.id} -> ${cell.to.id} ${cell.protocol}: expected ${expectOpen(cell) ? "open" : "blocked"}, probed ${cell.open ? "open" : "blocked"} (${cell.detail})`,
    );
}

/**
 * Rows are sources, columns destinations; a cell shows T when TCP got through and U when UDP did,
 * `-` where it was blocked, and `.` on the diagonal.
 */
export function renderMatrix(matrix: Matrix, pods: readonly Pod[]): string {
  const open = new Set(matrix.filter((c) => c.open).map((c) => `${c.from.id}>${c.to.id}>${c.protocol}`));
  const width = Math.max(...pods.map((p) => p.id.length));
  const column = (pod: Pod, i: number) => `${String(i + 1).padStart(2)}`;
  const lines = [`${"from \\ to".padEnd(width + 4)} ${pods.map((p, i) => ` ${column(p, i)}`).join("")}`];
  pods.forEach((from, i) => {
    const cells = pods.map((to) =>
      to === from ? " . " : ` ${PROTOCOLS.map((p) => (open.has(`${from.id}>${to.id}>${p}`) ? p[0] : "-")).join("")}`,
    );
    lines.push(`${String(i + 1).padStart(2)}  ${from.id.padEnd(width)} ${cells.join("")}`);
  });
  return lines.join("\n");
}

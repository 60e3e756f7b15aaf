// A memory cgroup for one server process of the benchmark: what a container's
// `resources.limits.memory` is on the node, without a container runtime. The kubelet puts a limit on
// the pod's cgroup (memory.limit_in_bytes on cgroup v1, memory.max on v2) and the kernel's OOM killer
// ends the process when it cannot reclaim below it; this does the same for a child cgroup of the
// benchmark's own cgroup.
//
// Needs write access to the cgroup filesystem (root, in practice). Without it, createMemoryCgroup
// says why and nothing is measured: a "limit" that is not enforced by the kernel would prove nothing.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CgroupReading {
  /** Highest usage the kernel charged to the cgroup (RSS and page cache), bytes; NaN when the kernel does not keep it. */
  peakBytes: number;
  /** Processes the OOM killer ended inside the cgroup; NaN when the kernel does not count them. */
  oomKills: number;
  /** How often usage hit the limit (v1 memory.failcnt, v2 the `max` event): reclaim, not yet an OOM kill. */
  limitHits: number;
}

export interface MemoryCgroup {
  version: 1 | 2;
  dir: string;
  limitBytes: number;
  /** The file a process writes its pid to, to enter the cgroup (children follow it). */
  procsFile: string;
  read(): CgroupReading;
  /** Removes the cgroup (its processes must have exited). */
  remove(): void;
}

interface Mount {
  point: string;
  fstype: string;
  superOptions: string[];
}

function mounts(): Mount[] {
  // /proc/self/mountinfo: "... mount-point ... - fstype source super-options"
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [left, right = ""] = line.split(" - ");
      const [fstype = "", , superOptions = ""] = right.split(" ");
      return { point: left!.split(" ")[4]!, fstype, superOptions: superOptions.split(",") };
    });
}

/** `/proc/self/cgroup` lines: hierarchy-id:controllers:path. */
function ownCgroups(): { controllers: string[]; path: string }[] {
  return readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [, controllers = "", ...path] = line.split(":");
      return { controllers: controllers === "" ? [] : controllers.split(","), path: path.join(":") };
    });
}

const readNumber = (file: string) => (existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : Number.NaN);
const readKeyed = (file: string, key: string) => {
  if (!existsSync(file)) return Number.NaN;
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(readFileSync(file, "utf8"));
  return match ? Number(match[1]) : Number.NaN;
};

/** A new child of this process's memory cgroup with the given limit, or why there cannot be one. */
export function createMemoryCgroup(limitBytes: number, name: string): MemoryCgroup | { skipped: string } {
  if (process.platform !== "linux") return { skipped: `cgroups are Linux only (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { skipped: "not root: creating a memory cgroup needs write access to it" };
  const all = mounts();
  const own = ownCgroups();

  // cgroup v1: the memory controller has a hierarchy of its own (also on hybrid hosts, where a v2
  // hierarchy is mounted beside it without the memory controller).
  const v1Mount = all.find((m) => m.fstype === "cgroup" && m.superOptions.includes("memory"));
  const v1Own = own.find((c) => c.controllers.includes("memory"));
  if (v1Mount !== undefined && v1Own !== undefined) {
    const dir = join(v1Mount.point, v1Own.path, name);
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitBytes));
      // With swap on the host, the limit would only cap RAM and the process would swap instead of
      // being killed; Kubernetes runs pods without swap by default, so cap memory + swap alike.
      const memsw = join(dir, "memory.memsw.limit_in_bytes");
      if (existsSync(memsw)) writeFileSync(memsw, String(limitBytes));
    } catch (error) {
      removeQuietly(dir);
      return { skipped: `cgroup v1 memory hierarchy at ${v1Mount.point} is not writable: ${(error as Error).message}` };
    }
    return {
      version: 1,
      dir,
      limitBytes: readNumber(join(dir, "memory.limit_in_bytes")),
      procsFile: join(dir, "cgroup.procs"),
      read: () => ({
        peakBytes: readNumber(join(dir, "memory.max_usage_in_bytes")),
        // `oom_kill N` exists in memory.oom_control since Linux 4.13.
        oomKills: readKeyed(join(dir, "memory.oom_control"), "oom_kill"),
        limitHits: readNumber(join(dir, "memory.failcnt")),
      }),
      remove: () => removeQuietly(dir),
    };
  }

  // cgroup v2: one unified hierarchy; the memory controller must be enabled for our children.
  const v2Mount = all.find((m) => m.fstype === "cgroup2");
  const v2Own = own.find((c) => c.controllers.length === 0 && own.length === 1);
  if (v2Mount !== undefined && v2Own !== undefined) {
    const parent = join(v2Mount.point, v2Own.path);
    const dir = join(parent, name);
    const available = readFileSync(join(parent, "cgroup.controllers"), "utf8").trim();
    if (!available.split(/\s+/).includes("memory"))
      return {
        skipped: `the memory controller is not available to ${parent} (cgroup.controllers: ${available || "none"})`,
      };
    try {
      const enabled = readFileSync(join(parent, "cgroup.subtree_control"), "utf8").split(/\s+/);
      // Fails with EBUSY when our cgroup holds processes itself ("no internal processes" rule).
      if (!enabled.includes("memory")) writeFileSync(join(parent, "cgroup.subtree_control"), "+memory");
      mkdirSync(dir);
      writeFileSync(join(dir, "memory.max"), String(limitBytes));
      const swap = join(dir, "memory.swap.max");
      if (existsSync(swap)) writeFileSync(swap, "0");
    } catch (error) {
      removeQuietly(dir);
      return { skipped: `cannot create a cgroup v2 child of ${parent} with memory.max: ${(error as Error).message}` };
    }
    return {
      version: 2,
      dir,
      limitBytes: readNumber(join(dir, "memory.max")),
      procsFile: join(dir, "cgroup.procs"),
      read: () => ({
        // memory.peak exists since Linux 5.19.
        peakBytes: readNumber(join(dir, "memory.peak")),
        oomKills: readKeyed(join(dir, "memory.events"), "oom_kill"),
        limitHits: readKeyed(join(dir, "memory.events"), "max"),
      }),
      remove: () => removeQuietly(dir),
    };
  }
  return { skipped: "no cgroup v1 memory hierarchy and no cgroup v2 hierarchy that this process is in" };
}

function removeQuietly(dir: string) {
  try {
    if (existsSync(dir)) rmdirSync(dir);
  } catch {}
}

/**
 * A Kubernetes memory quantity in bytes: `384Mi`, `1Gi`, `500M`, `1e9`, `402653184`.
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
 */
export function quantityBytes(quantity: string | number): number {
  const text = String(quantity).trim();
  const match = /^([0-9.]+(?:[eE][0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text);
  if (match === null) throw new Error(`not a memory quantity: ${text}`);
  const factor: Record<string, number> = {
    "": 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(match[1]) * factor[match[2] ?? ""]!);
}

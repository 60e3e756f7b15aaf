// The command line as a user runs it: a fresh process on this Node, with no cluster and no config
// picked up from the environment, and never a stack trace on stderr.
import { spawnSync } from "node:child_process";
import t from "tap";

export const CLI = new URL("../../src/cli.ts", import.meta.url).pathname;

export function netfence(args: string[], stdin = "") {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    input: stdin,
    encoding: "utf8",
    env: { ...process.env, KUBECONFIG: "", NETFENCE_CONFIG: "" },
  });
  t.notMatch(result.stderr, /\n\s+at /, `no stack trace from netfence ${args.join(" ")}`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

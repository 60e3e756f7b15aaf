// The start every e2e file shares, kept out of harness.ts because the benchmarks import the harness
// without being tap tests.
import t from "tap";
import { Cluster, type NetfenceOptions } from "./harness.ts";

/**
 * A test file's cluster: started, stopped when the file ends, and a start that fails names the logs.
 * Every e2e file begins with it.
 */
export async function startCluster(options: NetfenceOptions = {}): Promise<Cluster> {
  const cluster = new Cluster();
  t.teardown(() => cluster.down());
  try {
    await cluster.up(options);
  } catch (error) {
    await cluster.down();
    throw new Error(`the cluster did not come up (logs: ${cluster.dir}): ${(error as Error).message}`);
  }
  t.comment(`cluster logs: ${cluster.dir}`);
  return cluster;
}

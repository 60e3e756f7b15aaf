// What a newcomer types first: `--help` of every command opens with its usage line, and the README
// only shows ways to run netfence that work on the bundled Node 24.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import t from "tap";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

const help = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args, "--help"], {
    encoding: "utf8",
    env: { ...process.env, KUBECONFIG: "", NETFENCE_CONFIG: "" },
  });

/** The commands as the top-level help lists them, so that a new command is covered without an edit here. */
function commands(): string[] {
  const text = help([]).stdout;
  const section = text.slice(text.indexOf("Commands:"));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((name) => name !== "help");
}

t.test("the top-level help and every command's help start with the usage line", async (t) => {
  t.match(help([]).stdout, /^Usage: netfence \[options\] \[command\]\n/);
  const names = commands();
  t.ok(names.length >= 5, `commands: ${names.join(", ")}`);
  for (const name of names) {
    const result = help([name]);
    t.equal(result.status, 0, name);
    t.match(result.stdout, new RegExp(`^Usage: netfence ${name} `), name);
  }
});

t.test("the README never tells users to run the TypeScript sources with the machine's node", async (t) => {
  t.notMatch(README, /node src\/cli\.ts/);
  t.match(README, /npm run netfence -- lint/);
  const scripts = (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  t.equal(scripts.netfence, "node src/cli.ts", "`npm run netfence` runs the CLI on the node of node_modules/.bin");
});

// One process per pod, started inside the pod's network namespace by the dataplane harness:
// - the pod's workload: a TCP and a UDP server on every given port, each answering with the pod's name
//   (so that "refused by policy" and "nothing listening" never look alike, notes/dataplane.md #3, #11);
// - the pod's prober: on a Unix socket (the filesystem is shared between network namespaces) it takes
//   one JSON line {to, port, protocol, timeoutMs} per connection and answers one JSON line
//   {answer} or {error}, from a fresh non-blocking connection made from inside this pod.
// Usage: node pod-agent.ts <pod name> <control socket> <port,port,...>
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";
import { createInterface } from "node:readline";

const [name, controlSocket, portList] = process.argv.slice(2);
if (name === undefined || controlSocket === undefined || portList === undefined) {
  process.stderr.write("usage: pod-agent.ts <pod name> <control socket> <port,port,...>\n");
  process.exit(2);
}
const ports = portList.split(",").map(Number);

interface ProbeRequest {
  to: string;
  port: number;
  protocol: "TCP" | "UDP";
  timeoutMs: number;
}
type ProbeResult = { answer: string } | { error: string };

function probeTcp({ to, port, timeoutMs }: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let received = "";
    // net.connect is non-blocking: an ICMP port-unreachable (a REJECT) arrives as ECONNREFUSED at once,
    // where a blocking connect() would miss it and wait for the SYN retry (notes/dataplane.md #2).
    const socket = connect({ host: to, port, timeout: timeoutMs });
    const done = (result: ProbeResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.on("data", (chunk) => (received += chunk));
    socket.on("end", () => done({ answer: received.trim() }));
    socket.on("timeout", () =>
      done({ error: received === "" ? "timeout" : `partial answer ${JSON.stringify(received)}` }),
    );
    socket.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
  });
}

function probeUdp({ to, port, timeoutMs }: ProbeRequest): Promise<ProbeResult> {
  return new Promise((resolve) => {
    // A connected UDP socket receives the ICMP error of a REJECT as ECONNREFUSED.
    const socket = createSocket("udp4");
    let settled = false;
    const done = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => done({ error: "timeout" }), timeoutMs);
    socket.on("message", (message) => done({ answer: message.toString().trim() }));
    socket.on("error", (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    socket.connect(port, to, () => socket.send("probe"));
  });
}

for (const port of ports) {
  createServer((socket) => {
    socket.on("error", () => {});
    socket.end(`${name}\n`);
  }).listen(port, "0.0.0.0");
  const udp = createSocket("udp4");
  udp.on("message", (_message, from) => udp.send(`${name}\n`, from.port, from.address));
  udp.bind(port, "0.0.0.0");
}

// allowHalfOpen: the harness ends its side after the request; the answer still has to go back.
createServer({ allowHalfOpen: true }, (control) => {
  control.on("error", () => {});
  createInterface({ input: control }).once("line", async (line) => {
    let result: ProbeResult;
    try {
      const request = JSON.parse(line) as ProbeRequest;
      result = await (request.protocol === "UDP" ? probeUdp(request) : probeTcp(request));
    } catch (error) {
      result = { error: `bad probe request: ${(error as Error).message}` };
    }
    control.end(`${JSON.stringify(result)}\n`);
  });
}).listen(controlSocket, () => process.stdout.write(`ready ${name}\n`));

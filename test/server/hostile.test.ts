// Hostile input over real sockets: nothing a client sends makes netfence answer 500 or crash, and a
// slow client cannot hold a socket for long.
import { connect as netConnect } from "node:net";
import { connect } from "node:tls";
import t from "tap";
import { admissionReview, networkPolicy } from "../helpers/review.ts";
import { post, realServer } from "../helpers/server.ts";

// A body limit above the default, so that 10^5 peers fit: the point is what netfence does with them.
const { server, ca } = await realServer({
  bodyLimitBytes: 8 * 1024 * 1024,
  isolatedNamespaces: ["iso"],
  allowedIngressNamespaces: ["monitoring"],
});
t.teardown(() => server.close());
const { port } = server;

t.test("10^5 peers in one policy: answered, with a bounded denial", async (t) => {
  const peers = Array.from({ length: 100_000 }, () => ({ ipBlock: { cidr: "10.0.0.1/8" } }));
  const body = JSON.stringify(admissionReview("NetworkPolicy", networkPolicy({ ingress: [{ from: peers }] })));
  const res = await post(port, ca, "/validate", body);
  t.equal(res.status, 200);
  const { response } = JSON.parse(res.body);
  t.equal(response.allowed, false);
  t.match(response.status.message, /^netfence found 100000 problems/);
  t.ok(res.body.length < 100_000, `${res.body.length} byte answer`);
});

t.test("a very long string value is refused without echoing it whole", async (t) => {
  const res = await post(
    port,
    ca,
    "/validate",
    JSON.stringify(
      admissionReview(
        "NetworkPolicy",
        networkPolicy({ ingress: [{ from: [{ ipBlock: { cidr: "1".repeat(1_000_000) } }] }] }),
      ),
    ),
  );
  t.equal(res.status, 200);
  t.ok(res.body.length < 2000, `${res.body.length} byte answer`);
});

t.test("deeply nested JSON gets a 400 or an answer, not a crash", async (t) => {
  const deep = "[".repeat(200_000) + "]".repeat(200_000);
  t.equal((await post(port, ca, "/validate", deep)).status, 400);
  // Built as text: JSON.stringify itself overflows the stack on such depth.
  const deepField = '{"a":'.repeat(20_000) + "1" + "}".repeat(20_000);
  const review = JSON.stringify(
    admissionReview("NetworkPolicy", { spec: { podSelector: {}, x: "DEEP" } }, { namespace: "iso" }),
  );
  for (const url of ["/validate", "/mutate"]) {
    const res = await post(port, ca, url, review.replace('"DEEP"', deepField));
    t.equal(res.status, 400, url);
    t.match(JSON.parse(res.body).error, /nests deeper than 100 levels/, url);
  }
});

t.test("invalid UTF-8 is decoded with replacement characters and answered", async (t) => {
  const body = Buffer.concat([
    Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-'),
    Buffer.from([0xff, 0xfe, 0xc3]),
    Buffer.from('","kind":{"group":"","version":"v1","kind":"Service"},"operation":"CREATE","object":{}}}'),
  ]);
  const res = await post(port, ca, "/validate", body);
  t.equal(res.status, 200);
  t.equal(JSON.parse(res.body).response.allowed, true);
});

t.test("the wrong content type is a 415 with a JSON error", async (t) => {
  const res = await post(port, ca, "/validate", "<xml/>", { "content-type": "application/xml" });
  t.equal(res.status, 415);
  t.match(JSON.parse(res.body).error, /content-type must be application\/json/);
});

t.test("text/plain is a 415 too, as README and SECURITY.md promise", async (t) => {
  const body = JSON.stringify(admissionReview("NetworkPolicy", networkPolicy({})));
  for (const type of ["text/plain", "text/plain; charset=utf-8"]) {
    const res = await post(port, ca, "/validate", body, { "content-type": type });
    t.equal(res.status, 415, type);
    t.match(JSON.parse(res.body).error, /content-type must be application\/json/, type);
  }
});

t.test(
  "a `__proto__` key (legal as a ConfigMap data key) is parsed as an own key, and the kube-proxy check runs",
  async (t) => {
    // Written as text: an object literal or JSON.stringify would not produce an own `__proto__` key.
    const configMap =
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kube-proxy","namespace":"kube-system"},' +
      '"data":{"__proto__":"x","constructor":"y","config.conf":"iptables:\\n  masqueradeAll: true\\n"}}';
    const review = JSON.stringify(
      admissionReview("ConfigMap", "OBJECT", { namespace: "kube-system", name: "kube-proxy" }),
    ).replace('"OBJECT"', configMap);
    const res = await post(port, ca, "/validate", review);
    t.equal(res.status, 200, res.body);
    const { response } = JSON.parse(res.body);
    t.equal(response.allowed, true);
    t.match(response.warnings, [/KP001/]);
    t.equal(({} as Record<string, unknown>).x, undefined, "Object.prototype is untouched");
    // A `__proto__` whose value is an object, where a merge would pollute a prototype.
    const polluting = JSON.stringify(
      admissionReview("NetworkPolicy", networkPolicy({}, { labels: { a: "b" } }), { namespace: "iso" }),
    ).replace('{"a":"b"}', '{"a":"b","__proto__":{"polluted":"yes"}}');
    for (const url of ["/validate", "/mutate"]) {
      const answer = await post(port, ca, url, polluting);
      t.equal(answer.status, 200, url);
      t.equal(({} as Record<string, unknown>).polluted, undefined, `${url}: Object.prototype is untouched`);
    }
  },
);

t.test("a TCP connection that never sends a ClientHello is closed within a few seconds", async (t) => {
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.resume();
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
    setTimeout(() => {
      socket.destroy();
      reject(new Error("socket still open after 20 s"));
    }, 20_000).unref();
  });
  const seconds = (Date.now() - started) / 1000;
  t.ok(seconds < 10, `closed after ${seconds.toFixed(1)} s`);
});

t.test("over the body limit is a 413", async (t) => {
  const res = await post(port, ca, "/validate", Buffer.alloc(9 * 1024 * 1024, " "));
  t.equal(res.status, 413);
});

t.test("HTTP/1.1 pipelining: two requests in one write get two answers, in order", async (t) => {
  const bodies = ["first", "second"].map((uid) =>
    JSON.stringify(admissionReview("Service", { spec: { selector: { a: "b" } } }, { uid })),
  );
  const raw = bodies
    .map(
      (b) =>
        `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`,
    )
    .join("");
  const received = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => socket.write(raw));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk;
      if ((data.match(/"uid":"(first|second)"/g) ?? []).length === 2) {
        socket.end();
        resolve(data);
      }
    });
    socket.on("error", reject);
  });
  t.equal((received.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
  t.ok(received.indexOf('"uid":"first"') < received.indexOf('"uid":"second"'));
});

t.test("a client that never finishes its headers is cut off", async (t) => {
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () =>
      socket.write("POST /validate HTTP/1.1\r\nHost: localhost\r\n"),
    );
    socket.resume();
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
    setTimeout(() => reject(new Error("socket still open after 20 s")), 20_000).unref();
  });
  const seconds = (Date.now() - started) / 1000;
  t.ok(seconds < 10, `closed after ${seconds.toFixed(1)} s`);
});

t.test("no plain HTTP: a cleartext request gets no HTTP answer", async (t) => {
  const reply = await new Promise<string>((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port }, () =>
      socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    );
    let data = "";
    socket.on("data", (chunk) => (data += chunk.toString("latin1")));
    socket.on("close", () => resolve(data));
    socket.on("error", () => resolve(data));
  });
  t.notMatch(reply, /HTTP\/1\.1 200/);
});

t.test("after all of that, the server still answers", async (t) => {
  const res = await post(port, ca, "/validate", JSON.stringify(admissionReview("NetworkPolicy", networkPolicy({}))));
  t.equal(res.status, 200);
});

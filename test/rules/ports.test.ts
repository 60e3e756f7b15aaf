// Ports and protocols (NP030-NP034) and what counts as allowing DNS (NP042), at their boundaries:
// each case is one ingress or egress rule, with the exact findings and, where it matters, the words.
import t from "tap";
import { findingsOf, triples } from "../helpers/evaluate.ts";
import { networkPolicy } from "../helpers/review.ts";

const PORT = "spec.ingress[0].ports[0]";
const ingressPorts = (...ports: Record<string, unknown>[]) => networkPolicy({ ingress: [{ ports }] });

t.test("port values Kubernetes accepts say nothing", async (t) => {
  const valid: Record<string, Record<string, unknown>> = {
    "port 1": { port: 1 },
    "port 65535": { port: 65535 },
    "a range of one port (endPort equal to port)": { port: 8080, endPort: 8080 },
    "port and endPort both 1": { port: 1, endPort: 1 },
    "a range up to 65535": { port: 1024, endPort: 65535 },
    "port and endPort both 65535": { port: 65535, endPort: 65535 },
    "a port name of 15 characters": { port: "abcdefghijklmno" },
    "a port name with single dashes and digits": { port: "h2-c-9" },
    "a port name of one letter": { port: "x" },
    UDP: { protocol: "UDP", port: 53 },
    "TCP without a port": { protocol: "TCP" },
  };
  for (const [name, port] of Object.entries(valid)) t.same(triples(findingsOf(ingressPorts(port))), [], name);
});

t.test("invalid ports: exact rule, action, path and message", async (t) => {
  const invalid: Record<string, { port: Record<string, unknown>; expect: [string, string, string, string][] }> = {
    "endPort one below port": {
      port: { port: 8081, endPort: 8080 },
      expect: [["NP033", "deny", `${PORT}.endPort`, "8080 must be greater than or equal to `port` (8081)"]],
    },
    "endPort 65536": {
      port: { port: 80, endPort: 65536 },
      expect: [["NP033", "deny", `${PORT}.endPort`, "65536 must be between 1 and 65535, inclusive"]],
    },
    "endPort 0 below port 1: two problems": {
      port: { port: 1, endPort: 0 },
      expect: [
        ["NP033", "deny", `${PORT}.endPort`, "0 must be greater than or equal to `port` (1)"],
        ["NP033", "deny", `${PORT}.endPort`, "0 must be between 1 and 65535, inclusive"],
      ],
    },
    "endPort without port": {
      port: { endPort: 80 },
      expect: [["NP033", "deny", `${PORT}.endPort`, "may not be specified without `port`"]],
    },
    "endPort with a named port": {
      port: { port: "http", endPort: 80 },
      expect: [["NP033", "deny", `${PORT}.endPort`, "may not be specified when `port` is non-numeric"]],
    },
    "port 0": {
      port: { port: 0 },
      expect: [["NP032", "deny", `${PORT}.port`, "0 must be between 1 and 65535, inclusive"]],
    },
    "port 65536": {
      port: { port: 65536 },
      expect: [["NP032", "deny", `${PORT}.port`, "65536 must be between 1 and 65535, inclusive"]],
    },
    "an empty port name": {
      port: { port: "" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`` is not a valid port name: it must be 1 to 15 characters long (or use a number)",
        ],
      ],
    },
    "a port name of 16 characters": {
      port: { port: "abcdefghijklmnop" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`abcdefghijklmnop` is not a valid port name: it must be 1 to 15 characters long (or use a number)",
        ],
      ],
    },
    "a port name with an underscore": {
      port: { port: "my_port" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`my_port` is not a valid port name: it must contain only lowercase letters, digits and '-' (or use a number)",
        ],
      ],
    },
    "a port name of digits only": {
      port: { port: "8080" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`8080` is not a valid port name: it must contain at least one letter (or use a number)",
        ],
      ],
    },
    "a port name starting with a dash": {
      port: { port: "-http" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`-http` is not a valid port name: it must not begin or end with '-' (or use a number)",
        ],
      ],
    },
    "a port name ending with a dash": {
      port: { port: "http-" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`http-` is not a valid port name: it must not begin or end with '-' (or use a number)",
        ],
      ],
    },
    "a port name with consecutive dashes": {
      port: { port: "a--b" },
      expect: [
        [
          "NP032",
          "deny",
          `${PORT}.port`,
          "`a--b` is not a valid port name: it must not contain consecutive '-' (or use a number)",
        ],
      ],
    },
    "a lowercase protocol": {
      port: { protocol: "udp" },
      expect: [
        [
          "NP030",
          "deny",
          `${PORT}.protocol`,
          "`udp` is not supported; use TCP, UDP or SCTP; write `UDP` (case-sensitive)",
        ],
      ],
    },
    "ICMP, with no spelling hint": {
      port: { protocol: "ICMP" },
      expect: [["NP030", "deny", `${PORT}.protocol`, "`ICMP` is not supported; use TCP, UDP or SCTP"]],
    },
    SCTP: {
      port: { protocol: "SCTP" },
      expect: [["NP031", "warn", `${PORT}.protocol`, "SCTP is enforced only by CNIs that support it; check yours"]],
    },
  };
  for (const [name, { port, expect }] of Object.entries(invalid)) {
    t.same(
      findingsOf(ingressPorts(port)).map((f) => [f.ruleId, f.action, f.path, f.message]),
      expect,
      name,
    );
  }
});

t.test("each port of a rule is checked at its own index", async (t) => {
  t.same(triples(findingsOf(ingressPorts({ port: 80 }, { port: 0 }, { port: 8080, endPort: 80 }))), [
    ["NP032", "deny", "spec.ingress[0].ports[1].port"],
    ["NP033", "deny", "spec.ingress[0].ports[2].endPort"],
  ]);
});

const DNS = { ports: [{ protocol: "UDP", port: 53 }] };

t.test("NP034: a named port in an egress rule whose peers are all ipBlocks", async (t) => {
  const outside = { ipBlock: { cidr: "203.0.113.0/24" } };
  const cases: [string, Record<string, unknown>, [string, string, string][]][] = [
    [
      "every peer an ipBlock, the second port named",
      { to: [outside, { ipBlock: { cidr: "198.51.100.0/24" } }], ports: [{ port: 443 }, { port: "https" }] },
      [["NP034", "warn", "spec.egress[0].ports[1].port"]],
    ],
    ["a pod peer beside the ipBlock", { to: [outside, { podSelector: {} }], ports: [{ port: "https" }] }, []],
    ["no peers at all (every destination, pods included)", { ports: [{ port: "https" }] }, []],
    ["numeric ports only", { to: [outside], ports: [{ port: 443 }] }, []],
  ];
  for (const [name, rule, expect] of cases)
    t.same(triples(findingsOf(networkPolicy({ egress: [rule, DNS] }))), expect, name);
  t.match(
    findingsOf(networkPolicy({ egress: [{ to: [outside], ports: [{ port: "https" }] }, DNS] }))[0]?.message,
    "named port `https` cannot match",
  );
});

t.test("NP042: which egress rules count as allowing DNS", async (t) => {
  const egress = (...ports: Record<string, unknown>[]) =>
    findingsOf(networkPolicy({ policyTypes: ["Egress"], egress: [{ ports }] })).map((f) => f.ruleId);
  const allows: Record<string, Record<string, unknown>[]> = {
    "UDP 53": [{ protocol: "UDP", port: 53 }],
    "UDP without a port": [{ protocol: "UDP" }],
    "the named port dns over UDP": [{ protocol: "UDP", port: "dns" }],
    "a UDP range starting at 53": [{ protocol: "UDP", port: 53, endPort: 60 }],
    "a UDP range ending at 53": [{ protocol: "UDP", port: 40, endPort: 53 }],
    "UDP 53 after another port": [
      { protocol: "TCP", port: 443 },
      { protocol: "UDP", port: 53 },
    ],
  };
  for (const [name, ports] of Object.entries(allows)) t.same(egress(...ports), [], name);
  const loses: Record<string, Record<string, unknown>[]> = {
    "TCP 53": [{ protocol: "TCP", port: 53 }],
    "53 without protocol (TCP)": [{ port: 53 }],
    "UDP 54": [{ protocol: "UDP", port: 54 }],
    "a UDP range above 53": [{ protocol: "UDP", port: 54, endPort: 60 }],
    "a UDP range below 53": [{ protocol: "UDP", port: 40, endPort: 52 }],
    "another UDP name": [{ protocol: "UDP", port: "domain" }],
  };
  for (const [name, ports] of Object.entries(loses)) t.same(egress(...ports), ["NP042"], name);
});

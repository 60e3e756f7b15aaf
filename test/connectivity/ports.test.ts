// Port sets: sorted, disjoint, non-adjacent ranges per protocol; an operation that changes nothing
// returns its argument itself, which is what lets the engine share and intern sets.
import t from "tap";
import {
  ALL_PORTS,
  allPortsOf,
  describePorts,
  hasPort,
  intersectPorts,
  isEmptyPorts,
  NO_PORTS,
  portEntries,
  portSetKey,
  portsOf,
  subtractPorts,
  unionPorts,
  type PortSet,
} from "../../src/connectivity/ports.ts";

// The other protocols share NO_PORTS' empty lists, as the sets the engine builds do.
const tcp = (...ranges: [number, number][]): PortSet => ({ ...NO_PORTS, TCP: ranges });

interface Case {
  a: PortSet;
  b: PortSet;
  union: PortSet;
  intersection: PortSet;
  difference: PortSet;
}

const cases: Record<string, Case> = {
  "adjacent ranges merge into one": {
    a: tcp([1, 5]),
    b: tcp([6, 9]),
    union: tcp([1, 9]),
    intersection: tcp(),
    difference: tcp([1, 5]),
  },
  "ranges one apart stay apart": {
    a: tcp([1, 5]),
    b: tcp([7, 9]),
    union: tcp([1, 5], [7, 9]),
    intersection: tcp(),
    difference: tcp([1, 5]),
  },
  "overlapping ranges": {
    a: tcp([10, 20]),
    b: tcp([15, 30]),
    union: tcp([10, 30]),
    intersection: tcp([15, 20]),
    difference: tcp([10, 14]),
  },
  "a range inside another, and one before it": {
    a: tcp([1, 3], [100, 200]),
    b: tcp([150, 160]),
    union: tcp([1, 3], [100, 200]),
    intersection: tcp([150, 160]),
    difference: tcp([1, 3], [100, 149], [161, 200]),
  },
  "several ranges on both sides": {
    a: tcp([1, 10], [20, 30], [40, 50]),
    b: tcp([5, 25], [45, 45], [60, 70]),
    union: tcp([1, 30], [40, 50], [60, 70]),
    intersection: tcp([5, 10], [20, 25], [45, 45]),
    difference: tcp([1, 4], [26, 30], [40, 44], [46, 50]),
  },
  "a range ending where the other side's next begins": {
    a: tcp([1, 10], [12, 20]),
    b: tcp([10, 12]),
    union: tcp([1, 20]),
    intersection: tcp([10, 10], [12, 12]),
    difference: tcp([1, 9], [13, 20]),
  },
  "protocols are separate": {
    a: portsOf("TCP", 53),
    b: portsOf("UDP", 53),
    union: { TCP: [[53, 53]], UDP: [[53, 53]], SCTP: [] },
    intersection: NO_PORTS,
    difference: portsOf("TCP", 53),
  },
  "each side holds what the other lacks, protocol by protocol": {
    a: { ...NO_PORTS, SCTP: [[1, 1]] },
    b: { ...NO_PORTS, TCP: [[80, 80]], UDP: [[53, 53]] },
    union: { TCP: [[80, 80]], UDP: [[53, 53]], SCTP: [[1, 1]] },
    intersection: NO_PORTS,
    difference: { ...NO_PORTS, SCTP: [[1, 1]] },
  },
  "every port of one protocol": {
    a: allPortsOf("UDP"),
    b: { TCP: [], UDP: [[53, 53]], SCTP: [] },
    union: allPortsOf("UDP"),
    intersection: { TCP: [], UDP: [[53, 53]], SCTP: [] },
    difference: {
      TCP: [],
      UDP: [
        [1, 52],
        [54, 65535],
      ],
      SCTP: [],
    },
  },
};

t.test("union, intersection and difference", async (t) => {
  for (const [name, { a, b, union, intersection, difference }] of Object.entries(cases)) {
    t.test(name, async (t) => {
      t.strictSame(unionPorts(a, b), union, "a | b");
      t.strictSame(unionPorts(b, a), union, "b | a");
      t.strictSame(intersectPorts(a, b), intersection, "a & b");
      t.strictSame(intersectPorts(b, a), intersection, "b & a");
      t.strictSame(subtractPorts(a, b), difference, "a - b");
    });
  }
});

t.test("an operation that changes nothing returns its argument itself", async (t) => {
  const some = tcp([80, 80], [443, 443]);
  t.equal(unionPorts(NO_PORTS, some), some, "nothing | set");
  t.equal(unionPorts(some, NO_PORTS), some, "set | nothing");
  t.equal(unionPorts(some, ALL_PORTS), ALL_PORTS, "set | all");
  t.equal(unionPorts(ALL_PORTS, some), ALL_PORTS, "all | set");
  t.equal(intersectPorts(ALL_PORTS, some), some, "all & set");
  t.equal(intersectPorts(some, ALL_PORTS), some, "set & all");
  t.equal(intersectPorts(some, NO_PORTS), NO_PORTS, "set & nothing");
  t.equal(intersectPorts(NO_PORTS, some), NO_PORTS, "nothing & set");
  t.equal(subtractPorts(some, NO_PORTS), some, "set - nothing");
  t.equal(subtractPorts(NO_PORTS, some), NO_PORTS, "nothing - set");
  const udp = allPortsOf("UDP");
  t.equal(unionPorts(udp, tcp()).UDP, udp.UDP, "the untouched protocol's ranges are shared");
  t.equal(intersectPorts(udp, ALL_PORTS).UDP, udp.UDP);
});

t.test("membership, emptiness, keys and entries", async (t) => {
  const set = { TCP: [[80, 80] as const, [8000, 8080] as const], UDP: [[53, 53] as const], SCTP: [] };
  t.ok(hasPort(set, "TCP", 8000));
  t.ok(hasPort(set, "TCP", 8080));
  t.notOk(hasPort(set, "TCP", 8081));
  t.notOk(hasPort(set, "UDP", 80));
  t.ok(isEmptyPorts(NO_PORTS));
  t.notOk(isEmptyPorts(portsOf("SCTP", 1)));
  t.equal(portSetKey(set), "80-80,8000-8080|53-53|");
  t.equal(portSetKey(ALL_PORTS), "1-65535|1-65535|1-65535");
  t.strictSame(portEntries(set), [
    { protocol: "TCP", port: 80, endPort: 80 },
    { protocol: "TCP", port: 8000, endPort: 8080 },
    { protocol: "UDP", port: 53, endPort: 53 },
  ]);
});

t.test("ports for people", async (t) => {
  t.equal(describePorts(ALL_PORTS), "all ports");
  t.equal(describePorts(NO_PORTS), "none");
  t.equal(
    describePorts({
      TCP: [
        [80, 80],
        [8000, 8080],
      ],
      UDP: [[53, 53]],
      SCTP: [],
    }),
    "TCP 80, 8000-8080; UDP 53",
  );
  t.equal(describePorts({ ...allPortsOf("TCP"), UDP: [[53, 53]] }), "TCP all; UDP 53");
  t.equal(describePorts(tcp([1, 65534])), "TCP 1-65534");
});

// Address sets for traffic outside the cluster: CIDRs as intervals, addresses as pods report them,
// ipBlock minus its excepts, and CIDRs printed back from intervals.
import fc from "fast-check";
import t from "tap";
import {
  blockIntervals,
  cidrInterval,
  externalRelation,
  intervalCidrs,
  intervalContains,
  parseAddress,
  type AddressInterval,
} from "../../src/connectivity/addresses.ts";
import { describePorts, portsOf, type PortSet } from "../../src/connectivity/ports.ts";
import { parseCidr } from "../../src/rules/cidr.ts";

function interval(text: string): AddressInterval {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`test CIDR ${text}`);
  return cidrInterval(parsed.cidr);
}
const v4 = (text: string) => parseAddress(text)!.value;

t.test("a CIDR is the interval of its network, host bits ignored", async (t) => {
  t.same(interval("10.0.0.1/8"), { family: 4, first: v4("10.0.0.0"), last: v4("10.255.255.255") });
  t.same(interval("192.168.1.7/32"), { family: 4, first: v4("192.168.1.7"), last: v4("192.168.1.7") });
  t.same(interval("0.0.0.0/0"), { family: 4, first: 0n, last: 2n ** 32n - 1n });
  t.same(interval("2001:db8::/127"), { family: 6, first: 0x20010db8n << 96n, last: (0x20010db8n << 96n) + 1n });
});

t.test("addresses as pod status and users write them", async (t) => {
  const table: [string, ReturnType<typeof parseAddress>][] = [
    ["10.1.2.3", { family: 4, value: 0x0a010203n, text: "10.1.2.3" }],
    ["2001:DB8:0:0:0:0:0:1", { family: 6, value: (0x20010db8n << 96n) + 1n, text: "2001:db8::1" }],
    ["::ffff:1.2.3.4", { family: 6, value: 0xffff01020304n, text: "::ffff:102:304" }],
    ["10.1", undefined],
    ["010.1.2.3", undefined],
    ["0x0a.1.2.3", undefined],
    ["1.2.3.4.5", undefined],
    ["web", undefined],
  ];
  for (const [text, expected] of table) t.same(parseAddress(text), expected, text);
});

t.test("an interval holds its first and last address and nothing beyond", async (t) => {
  const block = interval("10.0.0.0/24");
  const inside = (text: string) => intervalContains(block, parseAddress(text)!);
  t.same(
    ["9.255.255.255", "10.0.0.0", "10.0.0.255", "10.0.1.0"].map(inside),
    [false, true, true, false],
    "one below, first, last, one above",
  );
  t.notOk(intervalContains(interval("::/0"), parseAddress("10.0.0.1")!), "another family");
});

t.test("an ipBlock minus its excepts", async (t) => {
  const cidrsOf = (cidr: string, except: string[]) =>
    blockIntervals(interval(cidr), except.map(interval)).flatMap(intervalCidrs);
  const table: [string, string, string[], string[]][] = [
    ["no except", "10.0.0.0/24", [], ["10.0.0.0/24"]],
    ["every IPv4 address", "0.0.0.0/0", [], ["0.0.0.0/0"]],
    ["every IPv6 address", "::/0", [], ["::/0"]],
    ["the lower half", "10.0.0.0/24", ["10.0.0.0/25"], ["10.0.0.128/25"]],
    ["the upper half", "10.0.0.0/24", ["10.0.0.128/25"], ["10.0.0.0/25"]],
    ["a middle piece", "10.0.0.0/24", ["10.0.0.64/26"], ["10.0.0.0/26", "10.0.0.128/25"]],
    ["a single address", "10.0.0.0/30", ["10.0.0.1/32"], ["10.0.0.0/32", "10.0.0.2/31"]],
    ["two holes apart", "10.0.0.0/24", ["10.0.0.0/26", "10.0.0.192/26"], ["10.0.0.64/26", "10.0.0.128/26"]],
    ["two holes, upper first", "10.0.0.0/24", ["10.0.0.192/26", "10.0.0.0/26"], ["10.0.0.64/26", "10.0.0.128/26"]],
    ["nested holes", "10.0.0.0/24", ["10.0.0.0/25", "10.0.0.0/26"], ["10.0.0.128/25"]],
    ["everything", "10.0.0.0/24", ["10.0.0.0/24"], []],
    ["a hole of the other family", "10.0.0.0/24", ["2001:db8::/64"], ["10.0.0.0/24"]],
    ["an IPv6 hole whose numbers are the block's", "10.0.0.0/24", ["::a00:0/120"], ["10.0.0.0/24"]],
    [
      "a hole ending on a piece's first address",
      "10.0.0.0/24",
      ["10.0.0.0/31", "10.0.0.2/32"],
      ["10.0.0.3/32", "10.0.0.4/30", "10.0.0.8/29", "10.0.0.16/28", "10.0.0.32/27", "10.0.0.64/26", "10.0.0.128/25"],
    ],
    [
      "a hole starting on a piece's last address",
      "10.0.0.0/24",
      ["10.0.0.254/31", "10.0.0.253/32"],
      [
        "10.0.0.0/25",
        "10.0.0.128/26",
        "10.0.0.192/27",
        "10.0.0.224/28",
        "10.0.0.240/29",
        "10.0.0.248/30",
        "10.0.0.252/32",
      ],
    ],
  ];
  for (const [name, cidr, except, expected] of table) t.same(cidrsOf(cidr, except), expected, name);
});

t.test(
  "an address is in the block exactly when it is in the CIDR and in no except, and no piece is empty (property)",
  async (t) => {
    // Inside 10.0.0.0/24, so that random addresses often land in the holes and on their edges.
    const prefixed = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 }));
    const cidrText = ([host, prefix]: [number, number]) => `10.0.0.${host}/${prefix}`;
    fc.assert(
      fc.property(
        prefixed,
        fc.array(prefixed, { maxLength: 4 }),
        fc.integer({ min: 0, max: 511 }),
        (block, holes, offset) => {
          const address = { family: 4 as const, value: v4("9.255.255.128") + BigInt(offset), text: "" };
          const cidr = interval(cidrText(block));
          const excepts = holes.map(cidrText).map(interval);
          const expected = intervalContains(cidr, address) && !excepts.some((hole) => intervalContains(hole, address));
          const pieces = blockIntervals(cidr, excepts);
          if (pieces.some((piece) => piece.first > piece.last)) return false; // no empty piece
          return pieces.some((piece) => intervalContains(piece, address)) === expected;
        },
      ),
      { numRuns: 2000 },
    );
    t.pass("2,000 blocks agree with the definition");
  },
);

t.test("an external relation is canonical: neighbours with the same ports merged, overlaps split", async (t) => {
  const tcp443 = portsOf("TCP", 443);
  const udp53 = portsOf("UDP", 53);
  const printed = (pieces: [string[], PortSet][]) =>
    externalRelation(pieces.map(([cidrs, ports]) => ({ addresses: cidrs.map(interval), ports }))).map((piece) => [
      intervalCidrs(piece.interval),
      describePorts(piece.ports),
    ]);
  const table: [string, [string[], PortSet][], [string[], string][]][] = [
    [
      "two neighbouring halves with the same ports",
      [[["10.0.0.0/25", "10.0.0.128/25"], tcp443]],
      [[["10.0.0.0/24"], "TCP 443"]],
    ],
    [
      "neighbours with other ports in between",
      [
        [["10.0.0.0/24", "10.0.2.0/24", "10.0.3.0/24"], tcp443],
        [["10.0.1.0/24"], udp53],
      ],
      [
        [["10.0.0.0/24"], "TCP 443"],
        [["10.0.1.0/24"], "UDP 53"],
        [["10.0.2.0/23"], "TCP 443"],
      ],
    ],
    [
      "overlapping pieces, the larger last",
      [
        [["10.0.0.128/25"], udp53],
        [["10.0.0.0/24"], tcp443],
      ],
      [
        [["10.0.0.0/25"], "TCP 443"],
        [["10.0.0.128/25"], "TCP 443; UDP 53"],
      ],
    ],
    [
      "the last IPv4 address and the IPv6 address numbered one more, with the same ports",
      [[["255.255.255.0/24", "::1:0:0/96"], tcp443]],
      [
        [["255.255.255.0/24"], "TCP 443"],
        [["::1:0:0/96"], "TCP 443"],
      ],
    ],
    ["nothing", [], []],
  ];
  for (const [name, pieces, expected] of table) t.same(printed(pieces), expected, name);
});

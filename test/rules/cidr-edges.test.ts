// ipBlock rules (NP020-NP025) at their boundaries, through the rule engine, with the words users read.
// Egress blocks are used where NP024 (an ingress rule) would only add noise.
import t from "tap";
import { parseConfig } from "../../src/config.ts";
import { findingsOf } from "../helpers/evaluate.ts";
import { networkPolicy } from "../helpers/review.ts";

const CIDR = "spec.egress[0].to[0].ipBlock.cidr";
const egressBlock = (cidr: string, except?: string[]) =>
  networkPolicy({ egress: [{ to: [{ ipBlock: { cidr, ...(except ? { except } : {}) } }] }] });
const found = (object: unknown, podCIDRs: string[] = []) =>
  findingsOf(object, { context: { podCIDRs: parseConfig({ podCIDRs }).podCIDRs } }).map((f) => [
    f.ruleId,
    f.action,
    f.path,
    f.message,
  ]);

t.test("CIDRs accepted as written", async (t) => {
  for (const cidr of [
    "255.255.255.255/32",
    "0.0.0.0/0",
    "10.0.0.0/32",
    "1.2.3.4/32",
    "::/0",
    "2001:db8::/128",
    "2001:db8::/32",
    "100.64.0.0/10",
  ])
    t.same(found(egressBlock(cidr)), [], cidr);
});

t.test("CIDRs refused, each with its reason", async (t) => {
  const nope = (cidr: string, reason: string) => [
    ["NP020", "deny", CIDR, `\`${cidr}\` is not a valid CIDR: ${reason}`],
  ];
  const cases: [string, string][] = [
    ["256.0.0.0/8", "an IPv4 octet is above 255"],
    ["1.2.3/8", "not an IP address"],
    ["1.2.3.4.5/8", "not an IP address"],
    ["10.0.0.0/33", "the prefix length must be at most 32 for IPv4"],
    ["2001:db8::/129", "the prefix length must be at most 128 for IPv6"],
    ["10.0.0.0/", "the prefix length must be a number from 0 to 32"],
    ["10.0.0.0/1a", "the prefix length must be a number from 0 to 32"],
    ["10.0.0.0/a1", "the prefix length must be a number from 0 to 32"],
    [
      "00.0.0.0/8",
      "an IPv4 octet has a leading zero, which some parsers read as octal (CVE-2021-29923); write `0.0.0.0`",
    ],
    ["2001:db8::/x", "the prefix length must be a number from 0 to 128"],
    ["10.0.0.0/00", "the prefix length has a leading zero; write `/0`"],
    ["10.0.0.0/032", "the prefix length has a leading zero; write `/32`"],
    ["::1", "a CIDR needs a prefix length; for one host write `::1/128`"],
    ["10.0.0.1", "a CIDR needs a prefix length; for one host write `10.0.0.1/32`"],
    ["10.0.0.1:8", "the prefix length must follow a `/`, not a `:`"],
    [
      "10.01.0.0/16",
      "an IPv4 octet has a leading zero, which some parsers read as octal (CVE-2021-29923); write `10.1.0.0`",
    ],
    ["::ffff:10.0.0.0/104", "IPv4-mapped IPv6 addresses are ambiguous; write the IPv4 network (`10.0.0.0`) instead"],
    ["fe80::1%eth0/64", "an IP network cannot carry a zone (`%...`)"],
    ["10.0.0.0/8 ", "the prefix length must be a number from 0 to 32"],
    ["dead:beef", "not an IP address"],
  ];
  for (const [cidr, reason] of cases) t.same(found(egressBlock(cidr)), nope(cidr, reason), cidr);
  // A prefix of four or more digits is too long, not a leading zero; a leading zero past the maximum is too long too.
  t.same(
    found(egressBlock("10.0.0.0/1000")),
    nope("10.0.0.0/1000", "the prefix length must be at most 32 for IPv4"),
    "10.0.0.0/1000",
  );
  t.same(
    found(egressBlock("10.0.0.0/033")),
    nope("10.0.0.0/033", "the prefix length must be at most 32 for IPv4"),
    "10.0.0.0/033",
  );
  t.same(
    found(egressBlock("10.0.0.0/0008")),
    nope("10.0.0.0/0008", "the prefix length has a leading zero; write `/8`"),
    "10.0.0.0/0008",
  );
});

t.test("NP021: host bits set, with the network and the one-host prefix of the family", async (t) => {
  const hostBits = (cidr: string, network: string, host: number) => [
    [
      "NP021",
      "deny",
      CIDR,
      `\`${cidr}\` has host bits set; the network is \`${network}\` (use \`/${host}\` for one host)`,
    ],
  ];
  const cases: [string, string, number][] = [
    ["10.1.2.3/24", "10.1.2.0/24", 32],
    ["128.0.0.1/1", "128.0.0.0/1", 32],
    ["255.255.255.255/31", "255.255.255.254/31", 32],
    ["10.0.0.1/0", "0.0.0.0/0", 32],
    ["2001:db8::1/64", "2001:db8::/64", 128],
    ["2001:DB8::1/64", "2001:db8::/64", 128],
  ];
  for (const [cidr, network, host] of cases) t.same(found(egressBlock(cidr)), hostBits(cidr, network, host), cidr);
});

t.test("NP025: IPv6 not in canonical form, for cidr and except", async (t) => {
  t.same(found(egressBlock("2001:0db8::/32")), [
    ["NP025", "warn", CIDR, "`2001:0db8::/32` is not in canonical form; write `2001:db8::/32`"],
  ]);
  t.same(found(egressBlock("2001:db8:0:0:0:0:0:0/32")), [
    ["NP025", "warn", CIDR, "`2001:db8:0:0:0:0:0:0/32` is not in canonical form; write `2001:db8::/32`"],
  ]);
  t.same(found(egressBlock("2001:db8::/32", ["2001:DB8:1::/48"])), [
    [
      "NP025",
      "warn",
      "spec.egress[0].to[0].ipBlock.except[0]",
      "`2001:DB8:1::/48` is not in canonical form; write `2001:db8:1::/48`",
    ],
  ]);
});

t.test("NP022 and NP023: except entries, with the words", async (t) => {
  const at = (i: number) => `spec.egress[0].to[0].ipBlock.except[${i}]`;
  t.same(found(egressBlock("10.0.0.0/8", ["x", "10.1.0.1/16", "fd00::/8", "192.168.0.0/16", "10.0.0.0/8"])), [
    ["NP022", "deny", at(0), "`x` is not a valid CIDR: not an IP address"],
    ["NP022", "deny", at(1), "`10.1.0.1/16` has host bits set; the network is `10.1.0.0/16`"],
    ["NP022", "deny", at(2), "`fd00::/8` is IPv6 but `cidr` is IPv4"],
    ["NP022", "deny", at(3), "`192.168.0.0/16` must be a strict subset of `cidr` (`10.0.0.0/8`)"],
    ["NP022", "deny", at(4), "`10.0.0.0/8` must be a strict subset of `cidr` (`10.0.0.0/8`)"],
  ]);
  t.same(found(egressBlock("10.0.0.0/8", ["10.1.0.0/16", "10.1.2.0/24", "10.1.0.0/16", "10.2.0.0/16"])), [
    ["NP023", "warn", at(1), "`10.1.2.0/24` lies inside `except[0]` (`10.1.0.0/16`); delete it"],
    ["NP023", "warn", at(2), "`10.1.0.0/16` duplicates `except[0]` (`10.1.0.0/16`); delete it"],
  ]);
  t.same(
    found(egressBlock("garbage", ["10.1.0.0/16"])).map((f) => f[0]),
    ["NP020"],
    "an invalid cidr: its except entries are not compared with it",
  );
  t.same(
    found(egressBlock("10.0.0.0/8", ["10.1.0.0/16", "10.2.0.0/16", "11.0.0.0/8"])).map((f) => [f[0], f[2]]),
    [["NP022", at(2)]],
    "an invalid entry is not compared with the others",
  );
});

t.test("NP024: ingress blocks covering the pod network, with and without configured pod CIDRs", async (t) => {
  const ingressBlock = (cidr: string, except?: string[]) =>
    networkPolicy({ ingress: [{ from: [{ ipBlock: { cidr, ...(except ? { except } : {}) } }] }] });
  const P = "spec.ingress[0].from[0].ipBlock.cidr";
  t.same(found(ingressBlock("::/0")), [
    [
      "NP024",
      "warn",
      P,
      "`::/0` covers every address, pods included; some CNIs then admit pods of every namespace: add the pod CIDRs to `except`",
    ],
  ]);
  t.same(found(ingressBlock("0.0.0.0/1")), [], "without pod CIDRs only /0 is flagged");
  const pods = ["10.244.0.0/16", "10.245.0.0/16", "fd00:10:244::/56"];
  t.same(found(ingressBlock("10.0.0.0/8"), pods), [
    [
      "NP024",
      "warn",
      P,
      "`10.0.0.0/8` covers the pod network `10.244.0.0/16`, `10.245.0.0/16`; some CNIs then admit pods of every namespace: add it to `except`",
    ],
  ]);
  t.same(
    found(ingressBlock("10.0.0.0/8", ["10.244.0.0/16"]), pods).map((f) => f[3]),
    [
      "`10.0.0.0/8` covers the pod network `10.245.0.0/16`; some CNIs then admit pods of every namespace: add it to `except`",
    ],
    "only the pod CIDRs not excepted",
  );
  t.same(
    found(ingressBlock("10.0.0.0/8", ["10.244.0.0/17"]), pods).map((f) => f[0]),
    ["NP024"],
    "excepting half a pod CIDR is not excepting it",
  );
  t.same(found(ingressBlock("10.0.0.0/8", ["10.244.0.0/15"]), pods), [], "one except covering both");
  t.same(found(ingressBlock("0.0.0.0/0", ["10.0.0.0/8"]), pods), [], "/0 with the pods excepted");
  t.same(found(ingressBlock("2001:db8::/32"), pods), [], "another network of the other family");
});

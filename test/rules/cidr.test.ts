import { isDeepStrictEqual } from "node:util";
import t from "tap";
import { FieldPath } from "../../src/field-path.ts";
import { ipBlockNode, parseCidr, type Cidr } from "../../src/rules/cidr.ts";
import { DEFAULT_RULE_CONTEXT } from "../../src/rules/context.ts";
import type { IPBlock } from "../../src/kube-objects.ts";
import { findingsAt } from "../../src/rules/index.ts";
import { RULES } from "../../src/rules/registry.ts";

/** The findings of the registry's ipBlock rules for one ipBlock. */
const ipBlockFindings = (
  block: IPBlock,
  at: FieldPath,
  context: { direction: "ingress" | "egress"; podCIDRs: readonly Cidr[] },
) =>
  findingsAt(RULES, "ipBlock", ipBlockNode(block, context.direction), at, {
    ...DEFAULT_RULE_CONTEXT,
    podCIDRs: context.podCIDRs,
  });

const path = FieldPath.root("spec", "ingress").index(0).child("from").index(0).child("ipBlock");
const ingress = { direction: "ingress" as const, podCIDRs: [] };

t.test("strict CIDRs that are accepted as written", async (t) => {
  for (const cidr of [
    "10.0.0.0/8",
    "192.168.1.1/32",
    "0.0.0.0/1",
    "172.16.0.0/12",
    "2001:db8::/32",
    "::1/128",
    "fd00::/8",
  ]) {
    t.same(ipBlockFindings({ cidr }, path, ingress), [], cidr);
  }
});

const invalid: Record<string, { cidr: string; rule: string; says: RegExp }> = {
  "host bits set, with the network as hint": { cidr: "10.0.0.1/8", rule: "NP021", says: /`10\.0\.0\.0\/8`/ },
  "IPv6 host bits set": { cidr: "2001:db8::1/32", rule: "NP021", says: /`2001:db8::\/32`/ },
  "leading zero in an octet (octal ambiguity)": {
    cidr: "010.0.0.0/8",
    rule: "NP020",
    says: /leading zero.*CVE-2021-29923.*`10\.0\.0\.0`/,
  },
  "leading zero in the prefix length": { cidr: "10.0.0.0/08", rule: "NP020", says: /prefix length has a leading zero/ },
  "no prefix length": { cidr: "10.0.0.0", rule: "NP020", says: /needs a prefix length.*`10\.0\.0\.0\/32`/ },
  "IPv4-mapped IPv6": { cidr: "::ffff:10.0.0.0/104", rule: "NP020", says: /IPv4-mapped.*`10\.0\.0\.0`/ },
  "a colon instead of a slash": { cidr: "127.0.26.33:31", rule: "NP020", says: /must follow a `\/`, not a `:`/ },
  "a zone": { cidr: "fe80::%eth0/64", rule: "NP020", says: /zone/ },
  "an octet above 255": { cidr: "10.0.0.256/32", rule: "NP020", says: /above 255/ },
  "prefix longer than the family allows": { cidr: "10.0.0.0/33", rule: "NP020", says: /at most 32/ },
  "not an address at all": { cidr: "garbage", rule: "NP020", says: /not an IP address/ },
  empty: { cidr: "", rule: "NP020", says: /empty/ },
  "whitespace around it": { cidr: " 10.0.0.0/8", rule: "NP020", says: /not an IP address/ },
  "non-canonical IPv6": { cidr: "2001:DB8:0::/32", rule: "NP025", says: /`2001:db8::\/32`/ },
};

t.test("CIDRs that are refused, each with the reason", async (t) => {
  for (const [behaviour, { cidr, rule, says }] of Object.entries(invalid)) {
    const findings = ipBlockFindings({ cidr }, path, ingress);
    t.equal(findings.length, 1, `${behaviour}: one finding`);
    t.equal(findings[0]?.ruleId, rule, `${behaviour}: rule`);
    t.equal(findings[0]?.path, "spec.ingress[0].from[0].ipBlock.cidr", `${behaviour}: path`);
    t.match(findings[0]?.message, says, `${behaviour}: message`);
  }
});

const exceptCases: Record<string, { cidr: string; except: string[]; expect: [string, string, RegExp][] }> = {
  "an except entry outside cidr": {
    cidr: "10.0.0.0/8",
    except: ["192.168.0.0/16"],
    expect: [["NP022", "except[0]", /strict subset/]],
  },
  "an except entry equal to cidr": {
    cidr: "10.0.0.0/8",
    except: ["10.0.0.0/8"],
    expect: [["NP022", "except[0]", /strict subset/]],
  },
  "an except entry of the other family": {
    cidr: "10.0.0.0/8",
    except: ["fd00::/8"],
    expect: [["NP022", "except[0]", /IPv6 but `cidr` is IPv4/]],
  },
  "an invalid except entry": {
    cidr: "10.0.0.0/8",
    except: ["10.1.0.0"],
    expect: [["NP022", "except[0]", /prefix length/]],
  },
  "an except entry with host bits": {
    cidr: "10.0.0.0/8",
    except: ["10.1.0.1/16"],
    expect: [["NP022", "except[0]", /`10\.1\.0\.0\/16`/]],
  },
  "a duplicated except entry": {
    cidr: "10.0.0.0/8",
    except: ["10.1.0.0/16", "10.1.0.0/16"],
    expect: [["NP023", "except[1]", /duplicates `except\[0\]`/]],
  },
  "an except entry inside another": {
    cidr: "10.0.0.0/8",
    except: ["10.1.2.0/24", "10.1.0.0/16"],
    expect: [["NP023", "except[0]", /lies inside `except\[1\]`/]],
  },
};

t.test("except entries", async (t) => {
  for (const [behaviour, { cidr, except, expect }] of Object.entries(exceptCases)) {
    const findings = ipBlockFindings({ cidr, except }, path, ingress);
    t.same(
      findings.map((f) => [f.ruleId, f.path.replace(/^.*ipBlock\./, "")]),
      expect.map(([rule, at]) => [rule, at]),
      behaviour,
    );
    expect.forEach(([, , says], i) => t.match(findings[i]?.message, says, `${behaviour}: message`));
  }
  t.same(
    ipBlockFindings({ cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.2.0.0/16"] }, path, ingress),
    [],
    "disjoint excepts inside cidr are fine",
  );
});

t.test("NP024: an ingress ipBlock covering the pod network", async (t) => {
  const pods = ["10.244.0.0/16"].map((c) => {
    const parsed = parseCidr(c);
    if (!parsed.ok) throw new Error(c);
    return parsed.cidr;
  });
  const rules = (cidr: string, except?: string[], podCIDRs = pods) =>
    ipBlockFindings({ cidr, ...(except ? { except } : {}) }, path, { direction: "ingress", podCIDRs }).map(
      (f) => f.ruleId,
    );
  t.same(rules("0.0.0.0/0", undefined, []), ["NP024"], "without configured pod CIDRs, 0.0.0.0/0 is flagged");
  t.same(
    rules("0.0.0.0/0", ["10.0.0.0/8"], []),
    [],
    "without configured pod CIDRs, an except shows the author thought about it",
  );
  t.same(rules("10.0.0.0/8", undefined, []), [], "without configured pod CIDRs, a narrower block is not flagged");
  t.same(rules("10.0.0.0/8"), ["NP024"], "a block containing the pod CIDR is flagged");
  t.same(rules("10.244.1.0/24"), ["NP024"], "a block inside the pod CIDR is flagged");
  t.same(rules("10.0.0.0/8", ["10.244.0.0/16"]), [], "excepting the pod CIDR clears it");
  t.same(rules("192.168.0.0/16"), [], "a block outside the pod CIDR is fine");
  t.same(
    ipBlockFindings({ cidr: "0.0.0.0/0" }, path, { direction: "egress", podCIDRs: pods }).map((f) => f.ruleId),
    [],
    "egress blocks are not flagged",
  );
});

// Differential: NP023's one pass over sorted entries says exactly what comparing every pair says.
t.test("NP023 finds the same duplicates and nested entries as comparing every pair", async (t) => {
  const { default: fc } = await import("fast-check");
  const pairwise = (except: string[]) => {
    // What NP022 leaves: every generated IPv4 network lies strictly inside 10.0.0.0/8, except itself.
    const valid = except
      .map((text, index) => ({ parsed: parseCidr(text), index }))
      .flatMap(({ parsed, index }) =>
        parsed.ok && parsed.cidr.family === 4 && parsed.cidr.prefix > 8 ? [{ cidr: parsed.cidr, index }] : [],
      );
    const contains = (outer: Cidr, inner: Cidr) => {
      const bits = (c: Cidr) =>
        c.address
          .toByteArray()
          .flatMap((byte) => [...byte.toString(2).padStart(8, "0")])
          .join("");
      return (
        outer.family === inner.family &&
        inner.prefix >= outer.prefix &&
        bits(outer).slice(0, outer.prefix) === bits(inner).slice(0, outer.prefix)
      );
    };
    return valid.flatMap((entry) => {
      const wider = valid.find(
        (other) =>
          other !== entry &&
          contains(other.cidr, entry.cidr) &&
          (other.cidr.prefix < entry.cidr.prefix || other.index < entry.index),
      );
      return wider === undefined
        ? []
        : [
            [
              `except[${entry.index}]`,
              `${wider.cidr.prefix === entry.cidr.prefix ? "duplicates" : "lies inside"} \`except[${wider.index}]\``,
            ],
          ];
    });
  };
  const network = fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(16, 20, 24))
      .map(([b, c, prefix]) => (prefix === 16 ? `10.${b}.0.0/16` : `10.${b}.${c * 16}.0/${prefix}`)),
    fc.constantFrom("fd00::/16", "fd00:1::/32", "fd00::/32", "10.0.0.0/8"),
  );
  fc.assert(
    fc.property(fc.array(network, { maxLength: 12 }), (except) => {
      const found = ipBlockFindings({ cidr: "10.0.0.0/8", except }, path, { direction: "egress", podCIDRs: [] })
        .filter((f) => f.ruleId === "NP023")
        .map((f) => [f.path.replace(/^.*ipBlock\./, ""), f.message.replace(/^`[^`]*` /, "").replace(/ \(`.*$/, "")]);
      if (!isDeepStrictEqual(found, pairwise(except)))
        throw new Error(`${JSON.stringify(except)}: ${JSON.stringify(found)} vs ${JSON.stringify(pairwise(except))}`);
    }),
    { numRuns: 300 },
  );
  t.pass("300 except lists agree");
});

// Containment, ordering and the network of a CIDR are computed on integers; ipaddr.js is the
// reference they must agree with, on any address and prefix of either family.
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import t from "tap";
import { cidrContains, parseCidr, strictIPv4Value, type Cidr } from "../../src/rules/cidr.ts";

const RUNS = 2000;

const ipv4 = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
  .map(([octets, prefix]) => `${octets.join(".")}/${prefix}`);
// Few distinct leading parts, so that containment is often true.
const ipv6 = fc
  .tuple(
    fc.array(fc.constantFrom(0, 1, 0x2001, 0xdb8, 0xffff, 0x8000), { minLength: 8, maxLength: 8 }),
    fc.integer({ min: 0, max: 128 }),
  )
  .map(([parts, prefix]) => `${parts.map((p) => p.toString(16)).join(":")}/${prefix}`);
// parseCidr refuses IPv4-mapped addresses by design (NP020), so containment is asked only of the rest.
const cidrText = fc.oneof(
  ipv4,
  ipv6.filter((text) => parseCidr(text).ok),
);

const parsed = (text: string): Cidr => {
  const result = parseCidr(text);
  if (!result.ok) throw new Error(`${text}: ${result.reason}`);
  return result.cidr;
};

t.test("cidrContains agrees with ipaddr.js match", async (t) => {
  fc.assert(
    fc.property(cidrText, cidrText, (a, b) => {
      const [outer, inner] = [parsed(a), parsed(b)];
      const expected =
        outer.family === inner.family &&
        inner.prefix >= outer.prefix &&
        (inner.address as ipaddr.IPv4).match(outer.address as ipaddr.IPv4, outer.prefix);
      if (cidrContains(outer, inner) !== expected) throw new Error(`${a} contains ${b}: expected ${expected}`);
      if (!cidrContains(outer, outer)) throw new Error(`${a} does not contain itself`);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

t.test("the network and host bits of an IPv6 CIDR agree with ipaddr.js", async (t) => {
  fc.assert(
    fc.property(ipv6, (text) => {
      const result = parseCidr(text);
      if (!result.ok) return; // IPv4-mapped addresses are refused; NP020's tests cover that.
      const [address, prefix] = ipaddr.parseCIDR(text);
      const network = ipaddr.IPv6.networkAddressFromCIDR(text).toRFC5952String();
      if (result.cidr.network !== `${network}/${prefix}`) throw new Error(`${text}: network ${result.cidr.network}`);
      if (result.hostBitsSet !== (network !== (address as ipaddr.IPv6).toRFC5952String()))
        throw new Error(`${text}: hostBitsSet ${result.hostBitsSet}`);
    }),
    { numRuns: RUNS },
  );
  t.pass();
});

// The one-pass parser against the definition it replaced: four octets 0-255 without a leading zero.
const IPV4_OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const STRICT_IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);

t.test("strictIPv4Value accepts what the strict dotted-quad expression accepts, with ipaddr.js's value", async (t) => {
  const nearQuad = fc
    .array(
      fc.oneof(fc.constantFrom("0", "00", "01", "255", "256", "1000", "", "a", ".", " "), fc.nat(300).map(String)),
      {
        minLength: 1,
        maxLength: 6,
      },
    )
    .map((parts) => parts.join("."));
  fc.assert(
    fc.property(fc.oneof(nearQuad, fc.string({ unit: fc.constantFrom(..."0123456789.x") })), (text) => {
      const value = strictIPv4Value(text);
      const strict = STRICT_IPV4.test(text);
      if (strict !== value >= 0) throw new Error(`${JSON.stringify(text)}: ${value}, expression says ${strict}`);
      if (
        strict &&
        value !==
          ipaddr.IPv4.parse(text)
            .toByteArray()
            .reduce((acc, octet) => acc * 256 + octet, 0)
      )
        throw new Error(`${text}: value ${value}`);
    }),
    { numRuns: RUNS * 5 },
  );
  for (const [text, value] of [
    ["0.0.0.0", 0],
    ["255.255.255.255", 4294967295],
    ["10.0.0.1", 167772161],
    ["010.0.0.1", -1],
    ["10.0.0.256", -1],
    ["10.0.0", -1],
    ["10.0.0.1.", -1],
    ["10..0.1", -1],
  ] as const)
    t.equal(strictIPv4Value(text), value, text);
});

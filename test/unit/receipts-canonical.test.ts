import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError } from '../../src/receipts/canonical-json';

describe('RFC 8785 canonical JSON', () => {
  it('serialises the RFC 8785 §3.2.2 example exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example', () => {
    const input = {
      '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const order = Object.values(JSON.parse(canonicalJson(input)) as Record<string, string>);
    // JSON.parse puts integer-like keys first on its own; compare the serialised order instead.
    expect(order).toContain('One');
    const values = [...canonicalJson(input).matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(values).toEqual([
      'Carriage Return', 'One', 'Control', 'Latin Small Letter O With Diaeresis', 'Euro Sign', 'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it('writes -0 as 0, nests, and leaves out undefined members as JSON does', () => {
    expect(canonicalJson({ b: [-0, { d: 1, c: undefined }], a: 'x' })).toBe('{"a":"x","b":[0,{"d":1}]}');
  });

  it('refuses what is not I-JSON instead of changing it', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ n: Infinity })).toThrow(/\$\.n: Infinity is not a JSON number/);
    expect(() => canonicalJson({ s: '\ud800' })).toThrow(/lone UTF-16 surrogate/);
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(/only plain objects/);
    expect(() => canonicalJson([undefined])).toThrow(/has no JSON form/);
    expect(() => canonicalJson({ big: 1n })).toThrow(/bigint/);
  });
});

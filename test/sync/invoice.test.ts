import fc from 'fast-check';
import {
  checkDocument,
  checkDocumentWithZod,
  checkDraft,
  dispensingFingerprint,
  GENESIS_HASH,
  type InvoiceDocument,
} from '../../src/sync/invoice';
import { sampleDraft } from './helpers';

function doc(i: number): InvoiceDocument {
  const draft = sampleDraft(i);
  // Every third document has a scanned pack on its first line and a non-zero amount item (the
  // shipped rules have none), so the mutations reach those fields.
  const lines =
    i % 3 === 0 ? [{ ...draft.lines[0]!, lot: 'LOT42', expiry: '2027-12-31', serial: 'SN-0001' }, ...draft.lines.slice(1)] : draft.lines;
  if (i % 3 === 0) {
    draft.items = [{ id: 'invoice-fee', label: 'Frais par facture', amount: 500, fund: 500, patient: 0 }];
    draft.totals = { ...draft.totals, total: draft.totals.total + 500, fund: draft.totals.fund + 500 };
  }
  return {
    ...draft,
    lines,
    v: 1,
    kind: 'invoice',
    pharmacyId: 'DZ16-PH-00001',
    number: i + 1,
    prev: GENESIS_HASH,
    issuedAt: '2024-03-15T09:30:00.123Z',
  };
}

/** Every path to a value inside `v` (objects and arrays), as key lists. */
function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push([...prefix, i], ...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push([...prefix, k], ...paths(x, [...prefix, k]));
  return out;
}

function mutate(d: unknown, path: (string | number)[], op: 'set' | 'delete' | 'add', value: unknown, key: string): unknown {
  const copy = structuredClone(d) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (op === 'set') parent[last] = value;
  else if (op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else {
    const target = parent[last];
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[key] = value;
    else parent[last] = value;
  }
  return copy;
}

const verdict = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? 'thrown';
  }
};

describe('invoice document checks', () => {
  test('valid documents pass both the hand-written check and the zod schema', () => {
    for (let i = 0; i < 50; i++) {
      expect(verdict(() => checkDocument(doc(i)))).toBe('ok');
      expect(verdict(() => checkDocumentWithZod(doc(i)))).toBe('ok');
    }
  });

  test('property: the hand-written check and the zod schema reach the same verdict on mutated documents', () => {
    const seen = new Map<string, number>();
    const value = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(0, -1, 1.5, 2 ** 53, '', 'x'.repeat(300), '2024-02-30', 'CNAS', 'ordinary', GENESIS_HASH, null, true),
      // Hostile text: every string field of the document is free text under one rule.
      fc.constantFrom(
        '\ud800',
        'a\u0000b',
        'RX\u202e1',
        'de\u0301ja',
        '\u2066x',
        'x\u2028y',
        '😀'.repeat(64),
        '😀'.repeat(201),
        'é'.repeat(120),
      ),
    );
    fc.assert(
      fc.property(
        fc.nat(200),
        fc.nat(10_000),
        fc.constantFrom('set', 'delete', 'add') as fc.Arbitrary<'set' | 'delete' | 'add'>,
        value,
        fc.constantFrom('extra', 'toString', '__proto__', 'code', 'v'),
        (i, pick, op, v, key) => {
          const d = doc(i);
          const ps = paths(d);
          const m = mutate(d, ps[pick % ps.length]!, op, v, key);
          const fast = verdict(() => checkDocument(structuredClone(m)));
          const slow = verdict(() => checkDocumentWithZod(structuredClone(m)));
          expect(fast).toBe(slow);
          seen.set(fast, (seen.get(fast) ?? 0) + 1);
        },
      ),
      { numRuns: 3000 },
    );
    // The mutations exercise both verdicts.
    expect(seen.get('ok') ?? 0).toBeGreaterThan(100);
    expect(seen.get('invalid-invoice') ?? 0).toBeGreaterThan(1000);
  });

  test('a bad draft is refused naming the field', () => {
    const d = sampleDraft(1);
    expect(() => checkDraft({ ...d, lines: [{ ...d.lines[0]!, quantity: 0 }] })).toThrow(
      expect.objectContaining({ code: 'invalid-invoice', field: 'lines[0].quantity' }),
    );
    expect(() => checkDraft({ ...d, fund: 'XYZ' })).toThrow(expect.objectContaining({ field: 'fund' }));
    expect(() => checkDraft({ ...d, surprise: 1 })).toThrow(expect.objectContaining({ field: 'surprise' }));
    expect(() => checkDocument({ ...doc(1), lines: [{ ...d.lines[0]!, patient: d.lines[0]!.patient + 1 }] })).toThrow(
      expect.objectContaining({ field: 'payload.lines[0].patient' }),
    );
    expect(() => checkDocument({ ...doc(1), beneficiary: { cardSerial: 'C1', rank: 0 } })).toThrow(
      expect.objectContaining({ field: 'payload.beneficiary.rank' }),
    );
    expect(() => checkDraft({ ...d, kind: 'credit-note' })).toThrow(expect.objectContaining({ field: 'references' }));
    expect(() => checkDraft({ ...d, category: 'Ordinary' })).toThrow(expect.objectContaining({ field: 'category' }));
  });

  test('amount items add to the totals, each with fund + patient = amount', () => {
    const d = sampleDraft(2);
    const item = { id: 'invoice-fee', amount: 500, fund: 500, patient: 0 };
    const totals = { ...d.totals, total: d.totals.total + 500, fund: d.totals.fund + 500 };
    expect(() => checkDraft({ ...d, items: [item], totals })).not.toThrow();
    expect(() => checkDraft({ ...d, items: [item] })).toThrow(expect.objectContaining({ field: 'totals.total' }));
    expect(() => checkDraft({ ...d, items: [{ ...item, patient: 1 }], totals })).toThrow(
      expect.objectContaining({ field: 'items[0].patient' }),
    );
    expect(() => checkDocument({ ...doc(2), items: [{ ...item, id: '' }] })).toThrow(
      expect.objectContaining({ field: 'payload.items[0].id' }),
    );
  });

  test('a substituted line names the product prescribed; the quantity and history fields are checked', () => {
    const d = sampleDraft(5);
    const l0 = d.lines[0]!;
    const withLine = (extra: Record<string, unknown>) => ({ ...d, lines: [{ ...l0, ...extra }, ...d.lines.slice(1)] });
    expect(() => checkDraft(withLine({ replaces: { code: 'G1', referencePrice: null } }))).not.toThrow();
    expect(() => checkDraft(withLine({ replaces: { referencePrice: 5 } }))).toThrow(
      expect.objectContaining({ field: 'lines[0].replaces.code' }),
    );
    expect(() => checkDraft(withLine({ prescribed: { quantity: -1, alreadyDispensed: 0 } }))).toThrow(
      expect.objectContaining({ field: 'lines[0].prescribed.quantity' }),
    );
    expect(() =>
      checkDocument({ ...doc(5), context: { category: 'ordinary', prescriptionHistory: [{ reference: 'R', date: 'x' }] } }),
    ).toThrow(expect.objectContaining({ field: 'payload.context.prescriptionHistory[0].date' }));
  });

  test('free text that gets signed: controls, bidi controls, lone surrogates and non-NFC text are refused naming the field', () => {
    const d = sampleDraft(1);
    const withApproval = (approval: string) => ({ ...d, lines: [{ ...d.lines[0]!, approval }, ...d.lines.slice(1)] });
    expect(() => checkDraft(withApproval('AP\u202e71'))).toThrow(
      expect.objectContaining({ code: 'invalid-invoice', field: 'lines[0].approval', message: expect.stringContaining('U+202E') }),
    );
    expect(() => checkDraft(withApproval('\ud800'))).toThrow(expect.objectContaining({ field: 'lines[0].approval' }));
    expect(() => checkDraft(withApproval('AP\u0000'))).toThrow(expect.objectContaining({ field: 'lines[0].approval' }));
    const withPack = (pack: Record<string, string>) => ({ ...d, lines: [{ ...d.lines[0]!, ...pack }, ...d.lines.slice(1)] });
    expect(() => checkDraft(withPack({ lot: 'L1', expiry: '2027-12-31', serial: 'S1' }))).not.toThrow();
    expect(() => checkDraft(withPack({ lot: 'L\u202e1' }))).toThrow(expect.objectContaining({ field: 'lines[0].lot' }));
    expect(() => checkDraft(withPack({ lot: 'x'.repeat(21) }))).toThrow(expect.objectContaining({ field: 'lines[0].lot' }));
    expect(() => checkDraft(withPack({ serial: '' }))).toThrow(expect.objectContaining({ field: 'lines[0].serial' }));
    expect(() => checkDraft(withPack({ expiry: '2027-02-30' }))).toThrow(expect.objectContaining({ field: 'lines[0].expiry' }));
    expect(() => checkDocument({ ...doc(1), lines: [{ ...doc(1).lines[0]!, lot: '\ud800' }] })).toThrow(
      expect.objectContaining({ field: 'payload.lines[0].lot' }),
    );
    expect(() => checkDraft({ ...d, prescription: { reference: 'RX-1', prescriber: 'Dr \u001b[31mX' } })).toThrow(
      expect.objectContaining({ field: 'prescription.prescriber' }),
    );
    const note = { ...d, kind: 'credit-note', references: { number: 1, hash: GENESIS_HASH, reason: 'annul\u00e9e' } };
    expect(() => checkDraft(note)).not.toThrow();
    for (const reason of ['annule\u0301e', 'a\u2067b', 'x'.repeat(201)])
      expect(() => checkDraft({ ...note, references: { ...note.references, reason } })).toThrow(
        expect.objectContaining({ field: 'references.reason' }),
      );
    expect(() => checkDraft(withApproval('😀'.repeat(64)))).not.toThrow(); // code points, not UTF-16 units
    const signed = doc(1);
    expect(() => checkDocument({ ...signed, pharmacyId: 'DZ16\u202ePH' })).toThrow(
      expect.objectContaining({ field: 'payload.pharmacyId' }),
    );
    expect(() => checkDocumentWithZod({ ...signed, pharmacyId: 'DZ16\u202ePH' })).toThrow(
      expect.objectContaining({ field: 'payload.pharmacyId' }),
    );
  });

  test('the dispensing fingerprint ignores number, time and chain, not the lines', () => {
    const a = doc(3);
    expect(dispensingFingerprint({ ...a, number: 99, issuedAt: '2025-01-01T00:00:00Z', prev: 'f'.repeat(64) })).toBe(
      dispensingFingerprint(a),
    );
    expect(dispensingFingerprint({ ...a, lines: [{ ...a.lines[0]!, quantity: a.lines[0]!.quantity + 1 }, ...a.lines.slice(1)] })).not.toBe(
      dispensingFingerprint(a),
    );
  });
});

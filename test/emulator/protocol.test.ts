import { parseAtr } from '../../src/card/atr';
import { buildAtr } from '../../src/emulator/atr';
import { MAX_CHAIN_DATA } from '../../src/emulator/chaining';
import { INSURED_AID } from '../../src/card/layout';
import { apdu, apduExt, card, chained, h, hex, keyFile, selectInsured, tx, verifyPin } from './helpers';

describe('ATR', () => {
  test.each([
    [{ protocol: 'T=1' as const, extendedLength: true, chaining: true }, [1]],
    [{ protocol: 'T=1' as const, extendedLength: false, chaining: true }, [1]],
    [{ protocol: 'T=1' as const, extendedLength: false, chaining: false }, [1]],
    [{ protocol: 'T=0' as const, extendedLength: true, chaining: false }, [0]],
    [{ protocol: 'T=0' as const, extendedLength: false, chaining: true }, [0]],
  ])('%j is a valid ISO 7816-3 ATR announcing its capabilities', (o, protocols) => {
    const atr = buildAtr(o);
    const parsed = parseAtr(atr);
    expect(parsed.protocols).toEqual(protocols);
    expect(parsed.capabilities).toEqual({ extendedLength: o.extendedLength, chaining: o.chaining });
    expect(parsed.historical[0]).toBe(0x00);
    expect(hex(parsed.historical.subarray(-3))).toBe('059000');
    expect(atr.length).toBeLessThanOrEqual(33);
  });

  test('the card ATR follows its options and changes at the next reset', () => {
    const c = card('demo');
    expect(parseAtr(c.atr).capabilities.extendedLength).toBe(true);
    c.setOptions({ extendedLength: false, protocol: 'T=0' });
    const atr = c.reset();
    expect(parseAtr(atr).protocols).toEqual([0]);
    expect(parseAtr(atr).capabilities.extendedLength).toBe(false);
    expect(tx(c, apduExt(0, 0xb0, 0x81, 0, undefined, 300)).sw).toBe(0x6700);
  });
});

describe('T=0', () => {
  test('case 4 answers 61xx; GET RESPONSE fetches the data, then the final SW', () => {
    const c = card('t0');
    const r = tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID, 0));
    expect(r.data.length).toBe(0);
    expect(r.sw & 0xff00).toBe(0x6100);
    const len = r.sw & 0xff;
    const part = tx(c, apdu(0, 0xc0, 0, 0, undefined, 10));
    expect(part.data.length).toBe(10);
    expect(part.sw).toBe(0x6100 | (len - 10));
    const rest = tx(c, apdu(0, 0xc0, 0, 0, undefined, len - 10));
    expect(rest.sw).toBe(0x9000);
    expect(Buffer.concat([part.data, rest.data])[0]).toBe(0x62);
    expect(tx(c, '00C0000010').sw).toBe(0x6985); // nothing left
  });

  test('case 3 with response data also answers 61xx; GET RESPONSE with a too-large Le answers 6Cxx', () => {
    const c = card('t0');
    const r = tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID));
    expect(r.sw & 0xff00).toBe(0x6100);
    const len = r.sw & 0xff;
    expect(tx(c, apdu(0, 0xc0, 0, 0, undefined, len + 1)).sw).toBe(0x6c00 | len);
    expect(tx(c, apdu(0, 0xc0, 0, 0, undefined, len)).sw).toBe(0x9000);
  });

  test('case 2 with the wrong Le answers 6Cxx; the exact Le gets the data', () => {
    const c = card('t0');
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    expect(tx(c, '00B2013400').sw).toBe(0x6c40); // record of 64 bytes, Le 256
    const r = tx(c, '00B2013440');
    expect(r.sw).toBe(0x9000);
    expect(r.data.length).toBe(64);
    expect(tx(c, '00B2013500').data.length).toBe(256); // 4 records fit exactly
    expect(tx(c, '00B081F000').sw).toBe(0x6c10); // 16 bytes left in the file
  });

  test('another command drops pending data', () => {
    const c = card('t0');
    tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID, 0));
    tx(c, '0020008100'.slice(0, 8));
    expect(tx(c, '00C0000010').sw).toBe(0x6985);
  });

  test('GET RESPONSE on a T=1 card with nothing pending → 6985', () => {
    expect(tx(card('demo'), '00C0000000').sw).toBe(0x6985);
  });
});

describe('Le absent on T=1', () => {
  test('SELECT without Le still returns the FCP (as many real cards do)', () => {
    const c = card('demo');
    const r = tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID));
    expect(r.sw).toBe(0x9000);
    expect(r.data[0]).toBe(0x62);
  });
});

describe('command chaining', () => {
  test('a chained certificate is assembled; each part answers 9000', () => {
    const c = card('no-extended');
    tx(c, selectInsured());
    const parts = chained(0x2a, 0x00, 0xbe, keyFile('pharmacy-1.cert.der'), 100);
    expect(parts.length).toBe(6);
    for (const p of parts) expect(tx(c, p).sw).toBe(0x9000);
  });

  test('chaining off → 6884; a different command abandons the chain; too long → 6700', () => {
    const c = card('demo', { options: { chaining: false } });
    expect(tx(c, apdu(0x10, 0x2a, 0x00, 0xbe, h('3082'))).sw).toBe(0x6884);
    const d = card('demo');
    tx(d, selectInsured());
    const parts = chained(0x2a, 0x00, 0xbe, keyFile('pharmacy-1.cert.der'));
    expect(tx(d, parts[0]!).sw).toBe(0x9000);
    expect(tx(d, '00B0810004').sw).toBe(0x9000); // another command: processed on its own
    // The last part alone is not a certificate.
    expect(tx(d, parts[parts.length - 1]!).sw).toBe(0x6a80);
    for (let i = 0; i * 255 <= MAX_CHAIN_DATA; i++) {
      const sw = tx(d, apdu(0x10, 0x2a, 0x00, 0xbe, Buffer.alloc(255, 1))).sw;
      if (sw !== 0x9000) {
        expect(sw).toBe(0x6700);
        return;
      }
    }
    throw new Error('the chain was never refused');
  });

  test('chained commands keep the header of the chain; Le of the last part counts', () => {
    const c = card('demo');
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    // Chaining a command without data is harmless: the parts are empty.
    expect(tx(c, apdu(0x10, 0xb0, 0x81, 0x00)).sw).toBe(0x9000);
    const r = tx(c, apdu(0x00, 0xb0, 0x81, 0x00, undefined, 4));
    expect(r.sw).toBe(0x9000);
    expect(r.data.length).toBe(4);
  });
});

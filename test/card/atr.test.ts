import { fromHex } from '../../src/card/apdu';
import { AtrError, parseAtr } from '../../src/card/atr';

describe('parseAtr', () => {
  test('T=1 ATR with card capabilities (extended length + chaining)', () => {
    // TS, T0 (Y1=8: TD1 follows, K = historical length), TD1=81 (T=1, TD2 follows),
    // TD2=11 (TA3 follows, T=1), TA3=FE (IFSC), historical bytes, TCK.
    const hist = fromHex('00 73 0000C0 819000');
    const pre = Buffer.concat([fromHex('3B'), Buffer.from([0x80 | hist.length]), fromHex('81 11 FE'), hist]);
    let tck = 0;
    for (const b of pre.subarray(1)) tck ^= b;
    const atr = parseAtr(Buffer.concat([pre, Buffer.from([tck])]));
    expect(atr.protocols).toEqual([1]);
    expect(atr.capabilities).toEqual({ chaining: true, extendedLength: true });
    expect(atr.historical.equals(hist)).toBe(true);
  });

  test('T=0 ATR without TCK; no extended length', () => {
    const hist = fromHex('80 73 000080');
    const atr = parseAtr(Buffer.concat([fromHex('3B'), Buffer.from([hist.length]), hist]));
    expect(atr.protocols).toEqual([0]);
    expect(atr.capabilities).toEqual({ chaining: true, extendedLength: false });
  });

  test.each([
    ['3A00', /TS/],
    ['3B', /at least/],
    ['3B05 0102', /historical/],
    ['3B80 81', /truncated|TCK/],
    ['3B80 01', /missing TCK/],
    ['3B80 01 00', /TCK check failed/],
  ])('rejects %s', (h, msg) => {
    expect(() => parseAtr(fromHex(h))).toThrow(AtrError);
    expect(() => parseAtr(fromHex(h))).toThrow(msg);
  });
});

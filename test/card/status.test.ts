import { retriesLeft, StatusWordError, swHex, swText } from '../../src/card/status';

test.each([
  [0x9000, 'normal processing'],
  [0x6982, 'security status not satisfied'],
  [0x6a83, 'record not found'],
  [0x63c2, 'verification failed, 2 retries left'],
  [0x6110, '16 response bytes still available (GET RESPONSE)'],
  [0x6c00, 'wrong Le: exact length is 256'],
  [0x6a99, 'wrong parameters P1-P2'],
  [0x1234, 'unknown status word'],
])('swText(%s)', (sw, text) => expect(swText(sw)).toBe(text));

test('retriesLeft reads 63Cx only', () => {
  expect(retriesLeft(0x63c3)).toBe(3);
  expect(retriesLeft(0x63c0)).toBe(0);
  expect(retriesLeft(0x6300)).toBeUndefined();
  expect(retriesLeft(0x9000)).toBeUndefined();
});

test('StatusWordError carries sw and names the command', () => {
  const e = new StatusWordError(0x6581, 'APPEND RECORD');
  expect(e.sw).toBe(0x6581);
  expect(e.code).toBe('status-word');
  expect(e.message).toBe('APPEND RECORD: card answered 6581 (execution error: memory failure)');
  expect(swHex(0x90)).toBe('0090');
});

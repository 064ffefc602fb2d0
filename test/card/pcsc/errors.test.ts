import {
  CardResetError,
  isServiceLoss,
  NoCardError,
  type PcscError,
  PcscNoServiceError,
  ReaderUnavailableError,
  scardCodeOf,
  SharingViolationError,
  toPcscError,
} from '../../../src/card/pcsc/errors';
import { CardRemovedError, TransportTimeoutError } from '../../../src/card/transport/transport';

// Messages exactly as pcsclite 1.0.1 builds them (error_msg in src/common.h).
const msg = (op: string, text: string, code: number) => new Error(`${op} error: ${text}.(0x${code.toString(16).padStart(8, '0')})`);

describe('PC/SC error mapping', () => {
  it('reads the PC/SC code out of the binding message', () => {
    expect(scardCodeOf(msg('SCardEstablishContext', 'Service not available', 0x8010001d))).toBe(0x8010001d);
    expect(scardCodeOf(new Error('no code here'))).toBeUndefined();
  });

  it.each([
    [0x8010001d, PcscNoServiceError, 'no-service'],
    [0x80100013, PcscNoServiceError, 'no-service'],
    [0x80100009, ReaderUnavailableError, 'reader-unavailable'],
    [0x80100017, ReaderUnavailableError, 'reader-unavailable'],
    [0x8010000c, NoCardError, 'no-card'],
    [0x80100069, CardRemovedError, 'card-removed'],
    [0x8010000b, SharingViolationError, 'sharing-violation'],
    [0x80100068, CardResetError, 'card-reset'],
    [0x8010000a, TransportTimeoutError, 'timeout'],
  ])('0x%s maps to its typed error', (code, cls, name) => {
    const e = toPcscError(msg('SCardTransmit', 'x', code), 'Virtual PCD 00 00');
    expect(e).toBeInstanceOf(cls);
    expect((e as PcscError).code).toBe(name);
  });

  it('says plainly that pcscd is not running', () => {
    const e = toPcscError(msg('SCardEstablishContext', 'Service not available', 0x8010001d));
    expect(e.message).toBe('the PC/SC service (pcscd) is not running');
    expect(isServiceLoss(e)).toBe(true);
    expect(isServiceLoss(new NoCardError('R'))).toBe(false);
  });

  it('keeps unknown codes, with the operation and reader in the message', () => {
    const e = toPcscError(msg('SCardTransmit', 'Unknown', 0x80100031), 'R0', 'SCardTransmit') as PcscError;
    expect(e.code).toBe('pcsc-error');
    expect(e.scardCode).toBe(0x80100031);
    expect(e.message).toMatch(/SCardTransmit failed on "R0"/);
  });
});

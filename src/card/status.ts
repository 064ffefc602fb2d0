import { ChifaError } from '../common/errors';

/**
 * Status words of ISO/IEC 7816-4 §5.6 (tables 5 and 6), with their meanings. Interindustry values
 * only; proprietary ones fall back to their SW1 group meaning.
 */
export const SW = {
  OK: 0x9000,
  // 62xx: warning, state of non-volatile memory unchanged
  WARNING_NO_INFO: 0x6200,
  END_OF_FILE: 0x6282,
  FILE_DEACTIVATED: 0x6283,
  // 63xx: warning, state of non-volatile memory changed
  VERIFICATION_FAILED: 0x6300,
  // 64xx / 65xx: execution errors
  EXECUTION_ERROR: 0x6400,
  MEMORY_FAILURE: 0x6581,
  // 67xx, 68xx, 69xx, 6Axx: checking errors
  WRONG_LENGTH: 0x6700,
  LOGICAL_CHANNEL_NOT_SUPPORTED: 0x6881,
  SECURE_MESSAGING_NOT_SUPPORTED: 0x6882,
  LAST_COMMAND_OF_CHAIN_EXPECTED: 0x6883,
  CHAINING_NOT_SUPPORTED: 0x6884,
  COMMAND_NOT_ALLOWED: 0x6900,
  INCOMPATIBLE_FILE_STRUCTURE: 0x6981,
  SECURITY_STATUS_NOT_SATISFIED: 0x6982,
  AUTH_METHOD_BLOCKED: 0x6983,
  REFERENCE_DATA_NOT_USABLE: 0x6984,
  CONDITIONS_OF_USE_NOT_SATISFIED: 0x6985,
  COMMAND_NOT_ALLOWED_NO_EF: 0x6986,
  EXPECTED_SM_MISSING: 0x6987,
  INCORRECT_SM_DATA: 0x6988,
  WRONG_DATA: 0x6a80,
  FUNCTION_NOT_SUPPORTED: 0x6a81,
  FILE_NOT_FOUND: 0x6a82,
  RECORD_NOT_FOUND: 0x6a83,
  NOT_ENOUGH_MEMORY: 0x6a84,
  NC_INCONSISTENT_WITH_TLV: 0x6a85,
  INCORRECT_P1P2: 0x6a86,
  NC_INCONSISTENT_WITH_P1P2: 0x6a87,
  REFERENCE_DATA_NOT_FOUND: 0x6a88,
  FILE_EXISTS: 0x6a89,
  DF_NAME_EXISTS: 0x6a8a,
  WRONG_P1P2: 0x6b00,
  INS_NOT_SUPPORTED: 0x6d00,
  CLA_NOT_SUPPORTED: 0x6e00,
  NO_PRECISE_DIAGNOSIS: 0x6f00,
} as const;

const EXACT: ReadonlyMap<number, string> = new Map([
  [0x9000, 'normal processing'],
  [0x6200, 'warning: no information given (memory unchanged)'],
  [0x6281, 'warning: part of returned data may be corrupted'],
  [0x6282, 'warning: end of file or record reached before reading Ne bytes'],
  [0x6283, 'warning: selected file deactivated'],
  [0x6284, 'warning: file control information not formatted'],
  [0x6285, 'warning: selected file in termination state'],
  [0x6286, 'warning: no input data available from a sensor'],
  [0x6300, 'warning: verification failed'],
  [0x6381, 'warning: file filled up by the last write'],
  [0x6400, 'execution error: memory unchanged'],
  [0x6500, 'execution error: memory changed'],
  [0x6581, 'execution error: memory failure'],
  [0x6700, 'wrong length'],
  [0x6800, 'functions in CLA not supported'],
  [0x6881, 'logical channel not supported'],
  [0x6882, 'secure messaging not supported'],
  [0x6883, 'last command of the chain expected'],
  [0x6884, 'command chaining not supported'],
  [0x6900, 'command not allowed'],
  [0x6981, 'command incompatible with file structure'],
  [0x6982, 'security status not satisfied'],
  [0x6983, 'authentication method blocked'],
  [0x6984, 'reference data not usable'],
  [0x6985, 'conditions of use not satisfied'],
  [0x6986, 'command not allowed (no current EF)'],
  [0x6987, 'expected secure messaging data objects missing'],
  [0x6988, 'incorrect secure messaging data objects'],
  [0x6a80, 'incorrect parameters in the command data field'],
  [0x6a81, 'function not supported'],
  [0x6a82, 'file or application not found'],
  [0x6a83, 'record not found'],
  [0x6a84, 'not enough memory space in the file'],
  [0x6a85, 'Nc inconsistent with TLV structure'],
  [0x6a86, 'incorrect parameters P1-P2'],
  [0x6a87, 'Nc inconsistent with parameters P1-P2'],
  [0x6a88, 'referenced data or reference data not found'],
  [0x6a89, 'file already exists'],
  [0x6a8a, 'DF name already exists'],
  [0x6b00, 'wrong parameters P1-P2'],
  [0x6d00, 'instruction code not supported or invalid'],
  [0x6e00, 'class not supported'],
  [0x6f00, 'no precise diagnosis'],
]);

/** A human-readable meaning for any status word, e.g. swText(0x63c2) = "verification failed, 2 retries left". */
export function swText(sw: number): string {
  const exact = EXACT.get(sw);
  if (exact) return exact;
  const sw1 = sw >> 8;
  const sw2 = sw & 0xff;
  if (sw1 === 0x61) return `${sw2 === 0 ? 'more than 255' : sw2} response bytes still available (GET RESPONSE)`;
  if (sw1 === 0x6c) return `wrong Le: exact length is ${sw2 === 0 ? 256 : sw2}`;
  if (sw1 === 0x63 && (sw2 & 0xf0) === 0xc0) return `verification failed, ${sw2 & 0x0f} retries left`;
  if (sw1 === 0x64 && sw2 >= 0x02 && sw2 <= 0x80) return 'execution error: triggering by the card';
  const group: Record<number, string> = {
    0x62: 'warning (memory unchanged)',
    0x63: 'warning (memory changed)',
    0x64: 'execution error (memory unchanged)',
    0x65: 'execution error (memory changed)',
    0x66: 'security-related issue',
    0x67: 'wrong length',
    0x68: 'functions in CLA not supported',
    0x69: 'command not allowed',
    0x6a: 'wrong parameters P1-P2',
    0x6b: 'wrong parameters P1-P2',
    0x6d: 'instruction code not supported',
    0x6e: 'class not supported',
    0x6f: 'no precise diagnosis',
    0x90: 'normal processing (proprietary qualifier)',
  };
  return group[sw1] ?? 'unknown status word';
}

export function swHex(sw: number): string {
  return (sw & 0xffff).toString(16).toUpperCase().padStart(4, '0');
}

/** Retries left from '63Cx' (ISO 7816-4 §5.6: the counter is in the low nibble), else undefined. */
export function retriesLeft(sw: number): number | undefined {
  return (sw & 0xfff0) === 0x63c0 ? sw & 0x0f : undefined;
}

/** An unexpected status word: the command's own status map did not expect it. */
export class StatusWordError extends ChifaError {
  readonly sw: number;
  /** The command that drew it, e.g. "READ RECORD", for the message. */
  readonly command: string | undefined;
  constructor(sw: number, command?: string) {
    super('status-word', `${command ? `${command}: ` : ''}card answered ${swHex(sw)} (${swText(sw)})`);
    this.sw = sw;
    this.command = command;
  }
}

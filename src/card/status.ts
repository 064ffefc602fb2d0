import { ChifaError } from '../common/errors';

/**
 * Status words of ISO/IEC 7816-4 §5.6 (table 5: general meanings by SW1; table 6: specific
 * interindustry warnings and errors). Interindustry values only; proprietary ones fall back to
 * their SW1 group meaning.
 */
export const SW = {
  OK: 0x9000,
  // 62xx: warning, state of non-volatile memory unchanged (table 6)
  WARNING_NO_INFO: 0x6200,
  DATA_MAY_BE_CORRUPTED: 0x6281,
  /** End of file or record reached before reading Ne bytes (READ BINARY and READ RECORD alike). */
  END_OF_FILE: 0x6282,
  FILE_DEACTIVATED: 0x6283,
  FCI_NOT_FORMATTED: 0x6284,
  FILE_TERMINATED: 0x6285,
  NO_SENSOR_INPUT: 0x6286,
  // 63xx: warning, state of non-volatile memory changed (table 6)
  VERIFICATION_FAILED: 0x6300,
  FILE_FILLED_UP: 0x6381,
  /** '63Cx': counter x in the low nibble, e.g. the tries left after a failed verification (table 6). */
  COUNTER: 0x63c0,
  // 64xx / 65xx: execution errors (table 6)
  EXECUTION_ERROR: 0x6400,
  EXECUTION_ERROR_MEMORY_CHANGED: 0x6500,
  MEMORY_FAILURE: 0x6581,
  // 67xx, 68xx, 69xx, 6Axx: checking errors (table 6)
  WRONG_LENGTH: 0x6700,
  CLA_FUNCTIONS_NOT_SUPPORTED: 0x6800,
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

/** SW1 values whose SW2 is a number rather than a diagnosis (ISO 7816-4 §5.6, table 5). */
export const SW1 = {
  /** '61xx': SW2 more response bytes are available by GET RESPONSE ('00': 256 or more). */
  BYTES_AVAILABLE: 0x61,
  /** '6Cxx': wrong Le; SW2 is the exact length ('00': 256). */
  WRONG_LE: 0x6c,
} as const;

const EXACT: ReadonlyMap<number, string> = new Map([
  [SW.OK, 'normal processing'],
  [SW.WARNING_NO_INFO, 'warning: no information given (memory unchanged)'],
  [SW.DATA_MAY_BE_CORRUPTED, 'warning: part of returned data may be corrupted'],
  [SW.END_OF_FILE, 'warning: end of file or record reached before reading Ne bytes'],
  [SW.FILE_DEACTIVATED, 'warning: selected file deactivated'],
  [SW.FCI_NOT_FORMATTED, 'warning: file control information not formatted'],
  [SW.FILE_TERMINATED, 'warning: selected file in termination state'],
  [SW.NO_SENSOR_INPUT, 'warning: no input data available from a sensor'],
  [SW.VERIFICATION_FAILED, 'warning: verification failed'],
  [SW.FILE_FILLED_UP, 'warning: file filled up by the last write'],
  [SW.EXECUTION_ERROR, 'execution error: memory unchanged'],
  [SW.EXECUTION_ERROR_MEMORY_CHANGED, 'execution error: memory changed'],
  [SW.MEMORY_FAILURE, 'execution error: memory failure'],
  [SW.WRONG_LENGTH, 'wrong length'],
  [SW.CLA_FUNCTIONS_NOT_SUPPORTED, 'functions in CLA not supported'],
  [SW.LOGICAL_CHANNEL_NOT_SUPPORTED, 'logical channel not supported'],
  [SW.SECURE_MESSAGING_NOT_SUPPORTED, 'secure messaging not supported'],
  [SW.LAST_COMMAND_OF_CHAIN_EXPECTED, 'last command of the chain expected'],
  [SW.CHAINING_NOT_SUPPORTED, 'command chaining not supported'],
  [SW.COMMAND_NOT_ALLOWED, 'command not allowed'],
  [SW.INCOMPATIBLE_FILE_STRUCTURE, 'command incompatible with file structure'],
  [SW.SECURITY_STATUS_NOT_SATISFIED, 'security status not satisfied'],
  [SW.AUTH_METHOD_BLOCKED, 'authentication method blocked'],
  [SW.REFERENCE_DATA_NOT_USABLE, 'reference data not usable'],
  [SW.CONDITIONS_OF_USE_NOT_SATISFIED, 'conditions of use not satisfied'],
  [SW.COMMAND_NOT_ALLOWED_NO_EF, 'command not allowed (no current EF)'],
  [SW.EXPECTED_SM_MISSING, 'expected secure messaging data objects missing'],
  [SW.INCORRECT_SM_DATA, 'incorrect secure messaging data objects'],
  [SW.WRONG_DATA, 'incorrect parameters in the command data field'],
  [SW.FUNCTION_NOT_SUPPORTED, 'function not supported'],
  [SW.FILE_NOT_FOUND, 'file or application not found'],
  [SW.RECORD_NOT_FOUND, 'record not found'],
  [SW.NOT_ENOUGH_MEMORY, 'not enough memory space in the file'],
  [SW.NC_INCONSISTENT_WITH_TLV, 'Nc inconsistent with TLV structure'],
  [SW.INCORRECT_P1P2, 'incorrect parameters P1-P2'],
  [SW.NC_INCONSISTENT_WITH_P1P2, 'Nc inconsistent with parameters P1-P2'],
  [SW.REFERENCE_DATA_NOT_FOUND, 'referenced data or reference data not found'],
  [SW.FILE_EXISTS, 'file already exists'],
  [SW.DF_NAME_EXISTS, 'DF name already exists'],
  [SW.WRONG_P1P2, 'wrong parameters P1-P2'],
  [SW.INS_NOT_SUPPORTED, 'instruction code not supported or invalid'],
  [SW.CLA_NOT_SUPPORTED, 'class not supported'],
  [SW.NO_PRECISE_DIAGNOSIS, 'no precise diagnosis'],
]);

/** A human-readable meaning for any status word, e.g. swText(0x63c2) = "verification failed, 2 retries left". */
export function swText(sw: number): string {
  const exact = EXACT.get(sw);
  if (exact) return exact;
  const sw1 = sw >> 8;
  const sw2 = sw & 0xff;
  if (sw1 === SW1.BYTES_AVAILABLE) return `${sw2 === 0 ? 'more than 255' : sw2} response bytes still available (GET RESPONSE)`;
  if (sw1 === SW1.WRONG_LE) return `wrong Le: exact length is ${sw2 === 0 ? 256 : sw2}`;
  const left = retriesLeft(sw);
  if (left !== undefined) return `verification failed, ${left} retries left`;
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

/** A status word as 4 upper-case hex digits, e.g. '6982'. */
export function swHex(sw: number): string {
  return (sw & 0xffff).toString(16).toUpperCase().padStart(4, '0');
}

/** Retries left from '63Cx' (ISO 7816-4 §5.6, table 6: the counter is in the low nibble), else undefined. */
export function retriesLeft(sw: number): number | undefined {
  return (sw & 0xfff0) === SW.COUNTER ? sw & 0x0f : undefined;
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

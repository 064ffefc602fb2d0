import { decodeTlv } from '../src/card/tlv';

/* eslint-disable @typescript-eslint/no-require-imports */
// The npm packages compared in bench/tlv.ts. They have no types; each is wrapped to decode a
// whole buffer of concatenated objects and return a short summary (objects seen at top level).
const tlvPkg = require('tlv') as { parseAll(b: Buffer): unknown[] };
const berTlv = require('ber-tlv') as { TlvFactory: { parse(b: Buffer): unknown[] } };
const nodeTlv = require('node-tlv') as { parseList(b: Buffer): unknown[] };

export type Decoder = (buf: Buffer) => string;

export const decoders: Record<string, Decoder> = {
  'chifa (ours)': (b) => `${decodeTlv(b).length} objects`,
  tlv: (b) => `${tlvPkg.parseAll(b).length} objects`,
  'ber-tlv': (b) => `${berTlv.TlvFactory.parse(b).length} objects`,
  'node-tlv': (b) => `${nodeTlv.parseList(b).length} objects`,
};

/** Raw decode functions for the throughput loop (no summary string). */
export const rawDecoders: Record<string, (b: Buffer) => unknown> = {
  'chifa (ours)': (b) => decodeTlv(b),
  tlv: (b) => tlvPkg.parseAll(b),
  'ber-tlv': (b) => berTlv.TlvFactory.parse(b),
  'node-tlv': (b) => nodeTlv.parseList(b),
};

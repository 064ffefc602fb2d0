import * as net from 'node:net';

/**
 * The least a benchmark needs to put a card behind pcscd: a TCP client to vpcd's reader port
 * (127.0.0.1 only) speaking its framing — 2-byte big-endian length, then the payload; a 1-byte
 * payload is a control code (00 off, 01 on, 02 reset, 04 ATR), anything longer an APDU.
 * (PCSC-TESTING.md; `chifa emulate` is the full bridge.)
 */
export interface BridgedCard {
  readonly atr: Buffer;
  transmitSync?(apdu: Buffer): Buffer;
  transmit(apdu: Buffer): Promise<Buffer>;
  powerOn?(): Buffer;
  powerOff?(): void;
  reset?(): Buffer;
}

export interface Bridge {
  close(): Promise<void>;
}

export function bridgeToVpcd(card: BridgedCard, port: number): Promise<Bridge> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let chain = Promise.resolve();
    const send = (payload: Buffer): void => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(payload.length);
      socket.write(Buffer.concat([head, payload]));
    };
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const payload = Buffer.from(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        chain = chain.then(async () => {
          if (n === 1) {
            const code = payload[0];
            if (code === 0x04) send(card.atr);
            else if (code === 0x00) card.powerOff?.();
            else if (code === 0x01) card.powerOn?.();
            else if (code === 0x02) card.reset?.();
            return;
          }
          let resp: Buffer;
          try {
            resp = card.transmitSync ? card.transmitSync(payload) : await card.transmit(payload);
          } catch {
            resp = Buffer.from([0x6f, 0x00]);
          }
          send(resp);
        });
      }
    });
    socket.once('connect', () =>
      resolve({
        close: () =>
          new Promise<void>((r) => {
            socket.once('close', () => r());
            socket.destroy();
          }),
      }),
    );
    socket.once('error', reject);
  });
}

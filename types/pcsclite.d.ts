/**
 * Types for pcsclite@1.0.1 (santigimeno/node-pcsclite, a nan-based native module), written from
 * its lib/pcsclite.js and src/*.cpp. The package ships an index.d.ts full of `any`; this one is
 * exact, and it also describes the native classes (build/Release/pcsclite.node) that
 * src/card/pcsc/binding.ts drives directly. Only binding.ts may import this module.
 *
 * Behaviour worth knowing (read from the C++ sources):
 * - `new PCSCLite()` calls SCardEstablishContext synchronously and throws
 *   "SCardEstablishContext error: Service not available.(0x8010001d)" when pcscd is absent.
 * - `start(cb)` runs a thread: SCardListReaders, then SCardGetStatusChange on the PnP
 *   notification reader; `cb(undefined, names)` with the NUL-separated multi-string after each
 *   change, `cb(err)` once when a call fails (pcscd stopped: "RPC transport error (0x80100013)"),
 *   after which the thread ends.
 * - `close()` cancels and joins that thread. Called before `start()`'s thread runs, it does
 *   nothing and the thread later runs forever (the process never exits): close only after the
 *   first callback.
 * - `CardReader.get_status(cb)` runs a thread with its own context; `cb(err, state, atr)` first
 *   with the current state, then on each change; when it stops (reader gone, service stopped,
 *   close()) the object emits '_end'. The constructor leaves the thread id uninitialised, so a
 *   CardReader must have get_status() called and later close()d, or its destructor may join a
 *   garbage thread id when it is garbage-collected.
 * - A status thread stopped by close() right after it reported (before it re-entered
 *   SCardGetStatusChange) ends without its final report: its uv_async handle stays open and the
 *   process never exits. Close a watcher only once it has been quiet for a while (binding.ts).
 * - `_connect/_transmit/_disconnect` run in the libuv thread pool and share a mutex with the
 *   status callback; the handle lives in the CardReader object. There is no SCardReconnect,
 *   SCardStatus or SCardBeginTransaction.
 */
declare module 'pcsclite' {
  import type { EventEmitter } from 'events';

  namespace pcsclite {
    interface Status {
      state: number;
      atr?: Buffer;
    }

    interface ConnectOptions {
      share_mode?: number;
      protocol?: number;
    }

    type ErrorCallback = (err: Error | null | undefined) => void;

    interface CardReader extends EventEmitter {
      readonly name: string;
      state: number;
      connected: boolean;

      readonly SCARD_SHARE_SHARED: number;
      readonly SCARD_SHARE_EXCLUSIVE: number;
      readonly SCARD_SHARE_DIRECT: number;
      readonly SCARD_PROTOCOL_T0: number;
      readonly SCARD_PROTOCOL_T1: number;
      readonly SCARD_PROTOCOL_RAW: number;
      readonly SCARD_STATE_UNAWARE: number;
      readonly SCARD_STATE_IGNORE: number;
      readonly SCARD_STATE_CHANGED: number;
      readonly SCARD_STATE_UNKNOWN: number;
      readonly SCARD_STATE_UNAVAILABLE: number;
      readonly SCARD_STATE_EMPTY: number;
      readonly SCARD_STATE_PRESENT: number;
      readonly SCARD_STATE_ATRMATCH: number;
      readonly SCARD_STATE_EXCLUSIVE: number;
      readonly SCARD_STATE_INUSE: number;
      readonly SCARD_STATE_MUTE: number;
      readonly SCARD_LEAVE_CARD: number;
      readonly SCARD_RESET_CARD: number;
      readonly SCARD_UNPOWER_CARD: number;
      readonly SCARD_EJECT_CARD: number;

      /** Starts the status thread (see the module comment). */
      get_status(cb: (err: Error | undefined, state?: number, atr?: Buffer) => void): void;
      /** Stops the status thread; returns the SCardCancel result. */
      close(): number;

      // Library wrappers (lib/pcsclite.js).
      connect(options: ConnectOptions, cb: (err: Error | null | undefined, protocol?: number) => void): void;
      disconnect(disposition: number, cb: ErrorCallback): void;
      transmit(data: Buffer, resLen: number, protocol: number, cb: (err: Error | null | undefined, data?: Buffer) => void): void;
      control(data: Buffer, controlCode: number, resLen: number, cb: (err: Error | null | undefined, data?: Buffer) => void): void;
      SCARD_CTL_CODE(code: number): number;

      // Native methods under the wrappers.
      _connect(shareMode: number, protocol: number, cb: (err: Error | null | undefined, protocol?: number) => void): void;
      _disconnect(disposition: number, cb: ErrorCallback): void;
      _transmit(data: Buffer, resLen: number, protocol: number, cb: (err: Error | null | undefined, data?: Buffer) => void): void;
    }

    interface PCSCLite extends EventEmitter {
      readers: Record<string, CardReader>;
      /** Native: starts the reader-list thread (see the module comment). */
      start(cb: (err: Error | undefined, readers?: Buffer) => void): void;
      /** Native: cancels and joins the reader-list thread. */
      close(): number;
    }

    /** The native module (build/Release/pcsclite.node) after lib/pcsclite.js patched its prototypes. */
    interface Native {
      PCSCLite: new () => PCSCLite;
      CardReader: new (name: string) => CardReader;
    }
  }

  /** The library's entry point: a PCSCLite that starts itself on the next tick. */
  function pcsclite(): pcsclite.PCSCLite;
  export = pcsclite;
}

/**
 * The root of every error this project throws on purpose. `code` is a stable, machine-readable
 * identifier (callers and the HTTP API switch on it); `message` is for people.
 */
export class ChifaError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import { quoteClipped } from '../common/display';
import { ChifaError } from '../common/errors';
import { resolveTimingProfile, TimingProfileError, type TimingProfile } from '../emulator/timing-profile';
import { SyncError } from '../sync/errors';
import { SoftwareSigner } from '../sync/signer';

/**
 * The files the command line names (keys, certificates, CA files), read here so that a missing,
 * unreadable or mistaken file is one typed usage error naming the option and the file —
 * `chifa sync: file-not-found: --key "pharmacist.pem": no such file` — rather than Node's bare
 * ENOENT, OpenSSL's decoder message, or a CA file without certificates reported as "no CA given".
 */

export class OptionFileError extends ChifaError {
  constructor(code: string, option: string, file: string, detail: string) {
    super(code, `${option} ${quoteClipped(file, 120)}: ${detail}`, { field: option.replace(/^--/, '') });
  }
}

/** The bytes of the file `option` names. */
export function readOptionFile(option: string, file: string): Buffer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new OptionFileError('file-not-found', option, file, 'no such file: check the path');
    throw new OptionFileError('file-unreadable', option, file, `cannot be read (${code ?? (err as Error).message})`);
  }
  if (!stat.isFile()) throw new OptionFileError('file-unreadable', option, file, 'not a file');
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new OptionFileError('file-unreadable', option, file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A CA file: PEM text holding at least one certificate, every one of which parses. */
export function readCaFile(option: string, file: string): Buffer {
  const pem = readOptionFile(option, file);
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    throw new OptionFileError(
      'bad-ca-file',
      option,
      file,
      'no PEM certificate in it (-----BEGIN CERTIFICATE-----): give the CA certificate as PEM',
    );
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch {
      throw new OptionFileError('bad-ca-file', option, file, 'a PEM block in it is not an X.509 certificate');
    }
  }
  return pem;
}

/** A certificate file (PEM or DER). */
export function readCertificateFile(option: string, file: string): X509Certificate {
  const bytes = readOptionFile(option, file);
  try {
    return new X509Certificate(bytes);
  } catch {
    throw new OptionFileError('bad-certificate', option, file, 'not an X.509 certificate (PEM or DER)');
  }
}

/** A private key file (PEM: PKCS#8, SEC1 or PKCS#1). */
export function readPrivateKeyFile(option: string, file: string): KeyObject {
  const bytes = readOptionFile(option, file);
  try {
    return createPrivateKey(bytes);
  } catch {
    throw new OptionFileError('bad-private-key', option, file, 'not a private key in PEM');
  }
}

/** A key and its certificate as a signer; errors name the option at fault. */
export function signerFromFiles(key: { option: string; file: string }, cert: { option: string; file: string }): SoftwareSigner {
  const privateKey = readPrivateKeyFile(key.option, key.file);
  const certificate = readCertificateFile(cert.option, cert.file);
  try {
    return new SoftwareSigner(privateKey, Buffer.from(certificate.raw));
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    if (err.code === 'key-certificate-mismatch')
      throw new OptionFileError(
        'key-certificate-mismatch',
        key.option,
        key.file,
        `not the key of ${cert.option} ${quoteClipped(cert.file, 120)}: give a key and its own certificate`,
      );
    throw new OptionFileError(err.code, key.option, key.file, err.message);
  }
}

/** A TLS certificate and its key (PEM), checked to be a pair before a server is started with them. */
export function tlsFiles(cert: { option: string; file: string }, key: { option: string; file: string }): { cert: Buffer; key: Buffer } {
  const certificate = readCertificateFile(cert.option, cert.file);
  const privateKey = readPrivateKeyFile(key.option, key.file);
  if (!certificate.checkPrivateKey(privateKey))
    throw new OptionFileError(
      'key-certificate-mismatch',
      key.option,
      key.file,
      `not the key of ${cert.option} ${quoteClipped(cert.file, 120)}: give the certificate and its own key`,
    );
  return { cert: readOptionFile(cert.option, cert.file), key: readOptionFile(key.option, key.file) };
}

/**
 * The timing profile `--timing` names — a built-in name or a JSON file — resolved before anything
 * starts, so that a mistake names the option: `--timing slow: unknown timing profile: …`.
 */
export function timingOption(spec: string): TimingProfile | undefined {
  try {
    return resolveTimingProfile(spec);
  } catch (err) {
    if (!(err instanceof TimingProfileError)) throw err;
    throw new ChifaError(err.code, `--timing ${err.message}`, { field: 'timing', cause: err });
  }
}

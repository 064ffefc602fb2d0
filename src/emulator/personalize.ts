import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  INSURED_AID,
  InsuredFiles,
  PIN_MAX_TRIES,
  PIN_LENGTH,
  PIN_REF,
  PROFESSIONAL_AID,
  ProfessionalFiles,
  PUK_LENGTH,
  PUK_MAX_TRIES,
  PUK_REF,
  type FileSpec,
} from '../card/layout';
import { DEFAULT_OPTIONS, type CardOptions } from './context';
import type { CardDefinition } from './definition';
import {
  encodeBeneficiary,
  encodeDirRecord,
  encodeDispensation,
  encodeEmergency,
  encodeHolder,
  encodePharmacy,
  encodePrescription,
  encodeRights,
  rightsOfImage,
} from './encode';
import type { DfDef, EfDef } from './filesystem';
import { pad } from './filesystem';
import { generateHistory } from './generate';
import { CardImageError, parseCardImage, type CardImage, type InsuredImage, type ProfessionalImage } from './image-schema';
import { CardOs } from './os';
import { PinObject, type PinDef } from './security';
import type { CardSnapshot } from './state';

/**
 * Personalization: a card image (fixtures/cards/*.json) becomes a card definition and the bytes
 * of its NVM, exactly as a card bureau would write them before issuing the card. Rings are filled
 * by real APPEND RECORD logic, oldest first, so a ring given more records than it holds has
 * wrapped around like a card in use.
 */

/** FIDs of the application DFs under the MF (not in layout.ts: the reader selects by AID). */
export const INSURED_DF_FID = 0xdf01;
export const PROFESSIONAL_DF_FID = 0xdf02;
/** EF.DIR (ISO 7816-4 §8.2.1.1) under the MF: one record per application. */
export const EF_DIR: EfDef = {
  name: 'EF.DIR',
  fid: 0x2f00,
  sfi: 30,
  kind: 'linear-fixed',
  size: 32,
  maxRecords: 4,
  read: 'always',
  update: 'never',
  append: 'never',
};

export const PIN_DEF: PinDef = { ref: PIN_REF, label: 'PIN', length: PIN_LENGTH, maxTries: PIN_MAX_TRIES };
export const PUK_DEF: PinDef = { ref: PUK_REF, label: 'PUK', length: PUK_LENGTH, maxTries: PUK_MAX_TRIES };

/** A freshly personalized card: no journal pending. */
export type PersonalizedCard = CardSnapshot;

/** Reads, validates and personalizes an image file. Errors name the file and the field. */
export function personalizeFile(file: string): PersonalizedCard {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CardImageError(file, '', `cannot read the card image: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CardImageError(file, '', `not valid JSON: ${(err as Error).message}`);
  }
  const image = parseCardImage(json, file);
  return personalize(image, path.dirname(path.resolve(file)), file);
}

export function personalize(image: CardImage, baseDir: string, source = 'card image'): PersonalizedCard {
  return image.kind === 'insured' ? personalizeInsured(image, baseDir, source) : personalizeProfessional(image, baseDir, source);
}

function efDef(spec: FileSpec): EfDef {
  return {
    name: spec.name,
    fid: spec.fid,
    sfi: spec.sfi,
    kind: spec.kind,
    size: spec.size,
    ...(spec.maxRecords !== undefined ? { maxRecords: spec.maxRecords } : {}),
    read: spec.read,
    update: spec.update,
    ...(spec.append !== undefined ? { append: spec.append } : {}),
  };
}

function mfWith(app: DfDef): DfDef {
  return { name: 'MF', fid: 0x3f00, efs: [EF_DIR], dfs: [app] };
}

function readFileFor(source: string, field: string, baseDir: string, rel: string): Buffer {
  try {
    return fs.readFileSync(path.resolve(baseDir, rel));
  } catch (err) {
    throw new CardImageError(source, field, `cannot read ${rel}: ${(err as Error).message}`);
  }
}

function loadCertificate(source: string, field: string, baseDir: string, rel: string): X509Certificate {
  try {
    return new X509Certificate(readFileFor(source, field, baseDir, rel));
  } catch (err) {
    if (err instanceof CardImageError) throw err;
    throw new CardImageError(source, field, `${rel} is not an X.509 certificate: ${(err as Error).message}`);
  }
}

/**
 * An OS over the definition (empty memory), so the writes go through the same file model as the
 * card's own commands, with its application listed in EF.DIR and its PIN and PUK set.
 */
function blankCard(definition: CardDefinition, image: CardImage, aid: Buffer, label: string): { os: CardOs; options: CardOptions } {
  const options: CardOptions = { ...DEFAULT_OPTIONS, ...image.options };
  const os = new CardOs(definition, options);
  writeDir(os, aid, label);
  writePins(os, image);
  return { os, options };
}

/** Writes the application's EFs; `source` and `field` name the image part that does not fit. */
function fileWriter(os: CardOs, source: string) {
  const df = appDf(os);
  return {
    /** The whole of a transparent EF, padded to its size. */
    transparent(spec: FileSpec, field: string, bytes: Buffer): void {
      const ef = df.efByFid(spec.fid)!;
      if (ef.kind !== 'transparent') throw new Error(`${spec.name} is not transparent`);
      os.nvm.writeDirect(ef.stageWrite(0, fitIn(source, field, bytes, spec.size, spec.name)));
    },
    /** Appends `list` (newest first when `newestFirst`) oldest first, so record 1 ends up the newest. */
    records(spec: FileSpec, field: string, list: Buffer[], newestFirst: boolean): void {
      const ef = df.efByFid(spec.fid)!;
      if (ef.kind === 'transparent') throw new Error(`${spec.name} is not a record file`);
      const order = newestFirst ? list.map((b, i) => ({ b, i })).reverse() : list.map((b, i) => ({ b, i }));
      for (const { b, i } of order) {
        const w = ef.stageAppend(fitIn(source, `${field}[${i}]`, b, spec.size, spec.name));
        if (w === 'full') throw new CardImageError(source, field, `more records than the ${ef.capacity} ${spec.name} holds`);
        os.nvm.writeDirect(w);
      }
    },
  };
}

function fitIn(source: string, field: string, bytes: Buffer, size: number, file: string): Buffer {
  if (bytes.length > size) {
    throw new CardImageError(source, field, `encodes to ${bytes.length} bytes, more than the ${size} bytes of ${file}`);
  }
  return pad(bytes, size);
}

function writePins(
  os: CardOs,
  image: { pin: string; puk: string; pinRetriesLeft?: number | undefined; pukRetriesLeft?: number | undefined },
): void {
  const pin = os.pins.get(PIN_REF)!;
  const puk = os.pins.get(PUK_REF)!;
  os.nvm.writeDirect([
    { region: pin.region, offset: 0, bytes: PinObject.initial(PIN_DEF, image.pin, image.pinRetriesLeft ?? PIN_DEF.maxTries) },
    { region: puk.region, offset: 0, bytes: PinObject.initial(PUK_DEF, image.puk, image.pukRetriesLeft ?? PUK_DEF.maxTries) },
  ]);
}

function dump(os: CardOs): Record<string, Buffer> {
  return os.nvm.dump().regions;
}

function appDf(os: CardOs) {
  return os.mf.dfs[0]!;
}

function writeDir(os: CardOs, aid: Buffer, label: string): void {
  const dir = os.mf.efByFid(EF_DIR.fid)!;
  if (dir.kind === 'transparent') throw new Error('EF.DIR must be a record file');
  const w = dir.stageAppend(encodeDirRecord(aid, label));
  if (w === 'full') throw new Error('EF.DIR full');
  os.nvm.writeDirect(w);
}

function personalizeInsured(image: InsuredImage, baseDir: string, source: string): PersonalizedCard {
  const ca = loadCertificate(source, 'fundCa', baseDir, image.fundCa);
  const caKey = ca.publicKey;
  if (caKey.asymmetricKeyType !== 'ec') throw new CardImageError(source, 'fundCa', 'the fund CA key must be an EC key');
  const definition: CardDefinition = {
    kind: 'insured',
    label: path.basename(source, '.json'),
    mf: mfWith({
      name: 'DF.CHIFA-INSURED',
      fid: INSURED_DF_FID,
      aid: INSURED_AID.toString('hex').toUpperCase(),
      efs: Object.values(InsuredFiles).map(efDef),
    }),
    pins: [PIN_DEF, PUK_DEF],
    keys: { fundCaSpki: caKey.export({ format: 'der', type: 'spki' }).toString('base64') },
    dataObjects: { '5A': Buffer.from(image.holder.cardSerial, 'latin1').toString('hex').toUpperCase() },
  };
  const { os, options } = blankCard(definition, image, INSURED_AID, 'CHIFA INSURED');
  const { transparent, records } = fileWriter(os, source);
  transparent(InsuredFiles.holder, 'holder', encodeHolder(image.holder));
  records(InsuredFiles.beneficiaries, 'beneficiaries', image.beneficiaries.map(encodeBeneficiary), false);
  transparent(InsuredFiles.rights, 'rights', encodeRights(rightsOfImage(image.rights)));
  transparent(InsuredFiles.emergency, 'emergency', encodeEmergency(image.emergency));

  const generated = image.generate
    ? generateHistory(
        image.generate,
        image.beneficiaries.map((b) => b.rank),
      )
    : { prescriptions: [], dispensations: [] };
  const rx = [...image.prescriptions.map(encodePrescription), ...generated.prescriptions.map(encodePrescription)];
  const disp = [...image.dispensations.map(encodeDispensation), ...generated.dispensations.map(encodeDispensation)];
  records(InsuredFiles.prescriptions, 'prescriptions', rx, true);
  records(InsuredFiles.dispensations, 'dispensations', disp, true);
  return { definition, options, regions: dump(os), journal: null };
}

function personalizeProfessional(image: ProfessionalImage, baseDir: string, source: string): PersonalizedCard {
  const cert = loadCertificate(source, 'certificate', baseDir, image.certificate);
  const keyPem = readFileFor(source, 'privateKey', baseDir, image.privateKey);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CardImageError(source, 'privateKey', `not a private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CardImageError(source, 'privateKey', 'the card holds an EC P-256 key');
  }
  const pub = createPublicKey(key);
  const pubDer = pub.export({ format: 'der', type: 'spki' });
  if (!pubDer.equals(cert.publicKey.export({ format: 'der', type: 'spki' }))) {
    throw new CardImageError(source, 'privateKey', "does not match the certificate's public key");
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (cn !== image.pharmacy.pharmacyId) {
    throw new CardImageError(
      source,
      'pharmacy.pharmacyId',
      `is ${image.pharmacy.pharmacyId} but the certificate is for ${cn ?? '(no CN)'}`,
    );
  }
  const jwk = pub.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const definition: CardDefinition = {
    kind: 'professional',
    label: path.basename(source, '.json'),
    mf: mfWith({
      name: 'DF.CHIFA-PROFESSIONAL',
      fid: PROFESSIONAL_DF_FID,
      aid: PROFESSIONAL_AID.toString('hex').toUpperCase(),
      efs: Object.values(ProfessionalFiles).map(efDef),
    }),
    pins: [PIN_DEF, PUK_DEF],
    keys: { signingKeyPkcs8: key.export({ format: 'der', type: 'pkcs8' }).toString('base64') },
    dataObjects: {
      '5A': Buffer.from(image.pharmacy.pharmacyId, 'latin1').toString('hex').toUpperCase(),
      '7F49': Buffer.concat([Buffer.from([0x86, point.length]), point])
        .toString('hex')
        .toUpperCase(),
    },
  };
  const { os, options } = blankCard(definition, image, PROFESSIONAL_AID, 'CHIFA PHARMACY');
  const { transparent } = fileWriter(os, source);
  transparent(ProfessionalFiles.identity, 'pharmacy', encodePharmacy(image.pharmacy));
  transparent(ProfessionalFiles.certificate, 'certificate', cert.raw);
  return { definition, options, regions: dump(os), journal: null };
}

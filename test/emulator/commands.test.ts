import type * as PersonalizeModule from '../../src/emulator/personalize';
import type * as VirtualCardModule from '../../src/emulator/virtual-card';
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, createPublicKey, X509Certificate } from 'node:crypto';
import { INSURED_AID, PROFESSIONAL_AID } from '../../src/card/layout';
import { decodeOne, findTag } from '../../src/card/tlv';
import { PinObject } from '../../src/emulator/security';
import {
  apdu,
  apduExt,
  authenticateProfessional,
  card,
  certificateApdus,
  certificateOf,
  dispensationTemplate,
  h,
  hex,
  keyFile,
  pinBlock,
  selectInsured,
  selectProfessional,
  sha256,
  tx,
  verifyPin,
} from './helpers';

/** Every command of the card OS, its answers and its error status words. */

describe('header checks', () => {
  const c = card('demo');
  test.each([
    ['80A4040C00', 0x6e00, 'proprietary class'],
    ['FFA4040C00', 0x6e00, 'CLA FF (PPS)'],
    ['20A4040C00', 0x6e00, 'RFU class 2X'],
    ['01A4000C00', 0x6881, 'logical channel 1'],
    ['40A4000C00', 0x6881, 'further interindustry class (channels 4-19)'],
    ['04A4000C00', 0x6882, 'secure messaging'],
    ['0060000000', 0x6d00, 'INS 6X'],
    ['0090000000', 0x6d00, 'INS 9X'],
    ['00EE000000', 0x6d00, 'unknown INS'],
    ['00B1000000', 0x6d00, 'odd INS B1 (not supported)'],
    ['00A404', 0x6700, 'three bytes'],
    ['', 0x6700, 'empty'],
    ['00A4040C05AABB', 0x6700, 'Lc larger than the data'],
    ['00A4040C01AABB CC', 0x6700, 'Lc smaller than the data'],
    ['00B000000001', 0x6700, 'truncated extended Le'],
  ])('%s → %s (%s)', (cmd, sw) => {
    expect(tx(c, cmd).sw).toBe(sw);
  });
});

describe('SELECT', () => {
  test('by AID with FCP, FCI, FMD, no data; by partial AID', () => {
    const c = card('demo');
    const fcp = tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID, 0));
    expect(fcp.sw).toBe(0x9000);
    const node = decodeOne(fcp.data);
    expect(node.tag).toBe(0x62);
    expect(hex(findTag(node.children!, 0x84)!.value)).toBe(hex(INSURED_AID));
    expect(hex(findTag(node.children!, 0x82)!.value)).toBe('38');
    expect(hex(findTag(node.children!, 0x8a)!.value)).toBe('05');
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x00, INSURED_AID, 0)).data[0]).toBe(0x6f);
    expect(hex(tx(c, apdu(0, 0xa4, 0x04, 0x08, INSURED_AID, 0)).data)).toBe('6400');
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x0c, INSURED_AID))).toEqual({ data: Buffer.alloc(0), sw: 0x9000 });
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x0c, INSURED_AID.subarray(0, 7))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x0c, PROFESSIONAL_AID)).sw).toBe(0x6a82);
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x0e, INSURED_AID)).sw).toBe(0x6a82); // next occurrence
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x1c, INSURED_AID)).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0xa4, 0x05, 0x0c, INSURED_AID)).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0xa4, 0x04, 0x0c, Buffer.alloc(17, 0xd2))).sw).toBe(0x6a87);
  });

  test('FCP of a record file gives length, count and capacity; of a transparent file its size and SFI', () => {
    const c = card('demo');
    tx(c, selectInsured());
    const r = tx(c, apdu(0, 0xa4, 0x02, 0x04, h('0106'), 0));
    expect(r.sw).toBe(0x9000);
    const kids = decodeOne(r.data).children!;
    expect(hex(findTag(kids, 0x82)!.value)).toBe('064100400004'); // cyclic, 64-byte records, 4 records
    expect(findTag(kids, 0x80)!.value.readUInt16BE(0) / 64).toBe(400); // capacity
    expect(hex(findTag(kids, 0x88)!.value)).toBe('30'); // SFI 6 << 3
    const t = decodeOne(tx(c, apdu(0, 0xa4, 0x02, 0x04, h('0101'), 0)).data).children!;
    expect(hex(findTag(t, 0x80)!.value)).toBe('0100');
    expect(hex(findTag(t, 0x82)!.value)).toBe('01');
  });

  test('by FID, path, parent; MF by empty data; failure keeps the current file', () => {
    const c = card('demo');
    expect(tx(c, '00A4000C00'.slice(0, 8)).sw).toBe(0x9000); // empty data: MF
    expect(tx(c, apdu(0, 0xa4, 0x00, 0x0c, h('3F00'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x00, 0x0c, h('DF01'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x00, 0x0c, h('0101'))).sw).toBe(0x9000);
    expect(tx(c, '00B0000004').data.length).toBe(4); // current EF: holder
    expect(tx(c, apdu(0, 0xa4, 0x00, 0x0c, h('0999'))).sw).toBe(0x6a82);
    expect(tx(c, '00B0000004').sw).toBe(0x9000); // still the holder
    expect(tx(c, '00A4030C').sw).toBe(0x9000); // parent of DF01: MF
    expect(tx(c, '00B0000004').sw).toBe(0x6986); // a DF has no current EF
    expect(tx(c, '00A4030C').sw).toBe(0x6a82); // the MF has no parent
    expect(tx(c, apdu(0, 0xa4, 0x08, 0x0c, h('DF010106'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x08, 0x0c, h('3F00DF010101'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x09, 0x0c, h('0102'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x08, 0x0c, h('DF02'))).sw).toBe(0x6a82);
    expect(tx(c, apdu(0, 0xa4, 0x08, 0x0c, h('DF01 01'))).sw).toBe(0x6a87);
    expect(tx(c, apdu(0, 0xa4, 0x01, 0x0c, h('DF01'))).sw).toBe(0x6a82); // current DF is DF01 (no child)
    expect(tx(c, apdu(0, 0xa4, 0x00, 0x0c, h('2F00'))).sw).toBe(0x6a82); // EF.DIR is in the MF
    expect(tx(c, apdu(0, 0xa4, 0x00, 0x0c, h('3F00'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x02, 0x0c, h('2F00'))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xa4, 0x02, 0x0c, h('2F0000'))).sw).toBe(0x6a87);
    expect(tx(c, apdu(0, 0xa4, 0x03, 0x0c, h('2F00'))).sw).toBe(0x6a87);
  });

  test('Le shorter than the FCP answers 6Cxx with the exact length', () => {
    const c = card('demo');
    const r = tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID, 4));
    expect(r.sw & 0xff00).toBe(0x6c00);
    const exact = tx(c, apdu(0, 0xa4, 0x04, 0x04, INSURED_AID, r.sw & 0xff));
    expect(exact.sw).toBe(0x9000);
    expect(exact.data.length).toBe(r.sw & 0xff);
  });

  test('EF.DIR lists the application', () => {
    const c = card('demo');
    const r = tx(c, '00B201F400'); // SFI 30, record 1
    expect(r.sw).toBe(0x9000);
    const node = decodeOne(r.data, { allowTrailing: true });
    expect(hex(findTag(node.children!, 0x4f)!.value)).toBe(hex(INSURED_AID));
  });
});

describe('READ BINARY / UPDATE BINARY', () => {
  test('by SFI with offset; Ne bigger than the rest → data + 6282; offset beyond → 6B00', () => {
    const c = card('demo');
    tx(c, selectInsured());
    const all = tx(c, '00B0810000');
    expect(all.sw).toBe(0x9000);
    expect(all.data.length).toBe(256);
    expect(all.data[0]).toBe(0xe0);
    expect(tx(c, '00B0811004').data).toEqual(all.data.subarray(0x10, 0x14));
    const tail = tx(c, '00B081F000');
    expect(tail.sw).toBe(0x6282);
    expect(tail.data).toEqual(all.data.subarray(0xf0));
    expect(tx(c, apduExt(0, 0xb0, 0x81, 0x00, undefined, 65536)).data).toEqual(all.data);
    expect(tx(c, '00B0010000').sw).toBe(0x6b00); // current EF (holder), offset 256
    expect(tx(c, '00B0A10000').sw).toBe(0x6a86); // b7-b6 set with b8
    expect(tx(c, '00B0870000').sw).toBe(0x6a82); // SFI 7 does not exist
    expect(tx(c, '00B0860000').sw).toBe(0x6981); // SFI 6 is a record file
    expect(tx(c, '00B081000101').sw).toBe(0x6700); // data field
  });

  test('access: PIN-protected files need the PIN; never-updatable files refuse updates', () => {
    const c = card('demo');
    tx(c, selectInsured());
    expect(tx(c, '00B0830000').sw).toBe(0x6982);
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
    expect(tx(c, '00B0830000').sw).toBe(0x9000);
    expect(tx(c, '00D6810001FF').sw).toBe(0x6982);
    expect(tx(c, '00D68100').sw).toBe(0x6700);
  });

  test('no current EF → 6986', () => {
    const c = card('demo');
    tx(c, selectInsured());
    expect(tx(c, '00B0000000').sw).toBe(0x6986);
  });

  test('the certificate is read in 256-byte pieces on a short-only card; extended APDUs are refused', () => {
    const c = card('pharmacist-2');
    tx(c, selectProfessional());
    expect(tx(c, apdu(0, 0xa4, 0x02, 0x0c, h('0202'))).sw).toBe(0x9000);
    const parts = [0, 1, 2, 3].map((i) => tx(c, apdu(0, 0xb0, i, 0, undefined, 0)));
    expect(parts.every((p) => p.sw === 0x9000)).toBe(true);
    const der = Buffer.concat(parts.map((p) => p.data)).subarray(0, 531);
    expect(new X509Certificate(der).subject).toContain('DZ31-PH-00002');
    expect(der).toEqual(keyFile('pharmacy-2.cert.der'));
    expect(tx(c, apduExt(0, 0xb0, 0x82, 0, undefined, 1024)).sw).toBe(0x6700);
  });
});

describe('READ RECORD(S)', () => {
  const c = card('demo');
  beforeAll(() => {
    tx(c, selectInsured());
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
  });

  test('one record; all from P1 to last; all from last to P1 (record 1 = newest)', () => {
    const r1 = tx(c, '00B2013400');
    expect(r1.sw).toBe(0x9000);
    expect(r1.data.length).toBe(64);
    const all = tx(c, '00B2013500');
    expect(all.data.length).toBe(4 * 64);
    expect(all.data.subarray(0, 64)).toEqual(r1.data);
    const back = tx(c, '00B2013600');
    const rec = (b: Buffer, i: number) => hex(b.subarray(i * 64, i * 64 + 64));
    expect([0, 1, 2, 3].map((i) => rec(back.data, i))).toEqual([3, 2, 1, 0].map((i) => rec(all.data, i)));
    const from3 = tx(c, '00B2033500');
    expect(from3.data).toEqual(all.data.subarray(128));
    // The newest dispensation of demo.json is record 1.
    expect(r1.data.subarray(0, 8)).toEqual(h('E538800420250520'));
  });

  test('as many whole records as fit in Ne (short and extended)', () => {
    expect(tx(c, '00B2013580').data.length).toBe(128); // Le 128: 2 records
    expect(tx(c, '00B20135BF').data.length).toBe(128); // Le 191: still 2
    expect(tx(c, '00B2013530').sw).toBe(0x6c40); // Le 48: not even one → 6C40
    const rx = tx(c, '00B2012D00'); // prescriptions, 128-byte records: 2 fit in 256
    expect(rx.data.length).toBe(256);
    const ext = tx(c, apduExt(0, 0xb2, 0x01, 0x2d, undefined, 65536));
    expect(ext.data.length).toBe(2 * 128);
  });

  test('errors: record beyond the end 6A83, P1=0 or another mode 6A86, transparent 6981, SFI 31 6A86, no access 6982', () => {
    expect(tx(c, '00B2053400').sw).toBe(0x6a83);
    expect(tx(c, '00B2053500').sw).toBe(0x6a83);
    expect(tx(c, '00B2003400').sw).toBe(0x6a86);
    expect(tx(c, '00B2013000').sw).toBe(0x6a86); // mode 000: record identifier
    expect(tx(c, '00B2013700').sw).toBe(0x6a86); // mode 111
    expect(tx(c, '00B2010C00').sw).toBe(0x6981); // SFI 1 is transparent
    expect(tx(c, '00B201FC00').sw).toBe(0x6a86); // SFI 31
    expect(tx(c, '00B2013C00').sw).toBe(0x6a82); // SFI 7
    expect(tx(c, '00B2013401').sw).toBe(0x6c40); // Le 1 < 64
    const fresh = card('demo');
    tx(fresh, selectInsured());
    expect(tx(fresh, '00B2013400').sw).toBe(0x6982);
    expect(tx(fresh, '00B2011400').sw).toBe(0x6982); // beneficiaries need the PIN too
  });

  test('beneficiaries: linear file, rank 1 first', () => {
    const all = tx(c, '00B2011500');
    expect(all.sw).toBe(0x9000);
    expect(all.data.length).toBe(2 * 128);
    const four = tx(c, apduExt(0, 0xb2, 1, 0x15, undefined, 65536));
    expect(four.data.length).toBe(4 * 128);
    expect(four.data.subarray(0, 5)).toEqual(h('E132800101'));
  });
});

describe('UPDATE RECORD and APPEND RECORD on a custom file system', () => {
  // A card OS is generic: build a small card whose files allow updates, to test the commands.
  const { VirtualCard } = jest.requireActual<typeof VirtualCardModule>('../../src/emulator/virtual-card');
  const { PIN_DEF, PUK_DEF } = jest.requireActual<typeof PersonalizeModule>('../../src/emulator/personalize');
  function custom() {
    const def = {
      kind: 'custom' as const,
      label: 'custom',
      mf: {
        name: 'MF',
        fid: 0x3f00,
        efs: [],
        dfs: [
          {
            name: 'APP',
            fid: 0xdf09,
            aid: 'A000000001',
            efs: [
              {
                name: 'LIN',
                fid: 0x0001,
                sfi: 1,
                kind: 'linear-fixed' as const,
                size: 8,
                maxRecords: 3,
                read: 'always' as const,
                update: 'always' as const,
                append: 'always' as const,
              },
              {
                name: 'CYC',
                fid: 0x0002,
                sfi: 2,
                kind: 'cyclic' as const,
                size: 4,
                maxRecords: 3,
                read: 'always' as const,
                update: 'always' as const,
                append: 'always' as const,
              },
              { name: 'BIN', fid: 0x0003, sfi: 3, kind: 'transparent' as const, size: 16, read: 'always' as const, update: 'pin' as const },
            ],
          },
        ],
      },
      pins: [PIN_DEF, PUK_DEF],
      keys: {},
      dataObjects: {},
    };
    const blank = new VirtualCard({
      definition: def,
      options: { protocol: 'T=1', extendedLength: true, chaining: true, antiTearing: true },
      regions: {},
      journal: null,
    });
    blank.os.nvm.writeDirect([
      { region: blank.os.pins.get(0x81)!.region, offset: 0, bytes: PinObject.initial(PIN_DEF, '1234', 3) },
      { region: blank.os.pins.get(0x82)!.region, offset: 0, bytes: PinObject.initial(PUK_DEF, '12345678', 10) },
    ]);
    tx(blank, apdu(0, 0xa4, 0x04, 0x0c, h('A000000001')));
    return blank;
  }

  test('linear file: append until full (6A84), update a record, pad short data', () => {
    const c = custom();
    expect(tx(c, '00B2010C00').sw).toBe(0x6a83); // empty
    for (let i = 1; i <= 3; i++) expect(tx(c, apdu(0, 0xe2, 0, 0x08, Buffer.from([i, i]))).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xe2, 0, 0x08, h('04'))).sw).toBe(0x6a84);
    expect(hex(tx(c, '00B2010D00').data)).toBe('0101000000000000' + '0202000000000000' + '0303000000000000');
    expect(tx(c, apdu(0, 0xdc, 2, 0x0c, h('AABBCCDDEEFF0011'))).sw).toBe(0x9000);
    expect(hex(tx(c, '00B2020C00').data)).toBe('AABBCCDDEEFF0011');
    expect(tx(c, apdu(0, 0xdc, 4, 0x0c, h('AA'))).sw).toBe(0x6a83);
    expect(tx(c, apdu(0, 0xdc, 1, 0x0c, Buffer.alloc(9))).sw).toBe(0x6700);
    expect(tx(c, apdu(0, 0xdc, 0, 0x0c, h('AA'))).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0xdc, 1, 0x0d, h('AA'))).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0xe2, 1, 0x08, h('AA'))).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0xe2, 0, 0x09, h('AA'))).sw).toBe(0x6a86);
    expect(tx(c, '00E20008').sw).toBe(0x6700);
    expect(tx(c, apdu(0, 0xe2, 0, 0x18, h('AA'))).sw).toBe(0x6981); // SFI 3 transparent
  });

  test('cyclic file: new record is number 1, the oldest is dropped', () => {
    const c = custom();
    for (let i = 1; i <= 5; i++) expect(tx(c, apdu(0, 0xe2, 0, 0x10, Buffer.from([i]))).sw).toBe(0x9000);
    expect(hex(tx(c, '00B2011500').data)).toBe('05000000' + '04000000' + '03000000');
    expect(hex(tx(c, '00B2011600').data)).toBe('03000000' + '04000000' + '05000000');
    // UPDATE RECORD 1 of a cyclic file touches the newest.
    expect(tx(c, apdu(0, 0xdc, 1, 0x14, h('55'))).sw).toBe(0x9000);
    expect(hex(tx(c, '00B2011400').data)).toBe('55000000');
  });

  test('UPDATE BINARY with the PIN; offsets and lengths', () => {
    const c = custom();
    expect(tx(c, apdu(0, 0xd6, 0x83, 0, h('0102'))).sw).toBe(0x6982);
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0xd6, 0x83, 2, h('0102'))).sw).toBe(0x9000);
    expect(hex(tx(c, '00B0830000').data)).toBe('00000102' + '00'.repeat(12));
    expect(tx(c, apdu(0, 0xd6, 0x00, 15, h('AA'))).sw).toBe(0x9000); // current EF, offset 15
    expect(tx(c, apdu(0, 0xd6, 0x00, 15, h('AABB'))).sw).toBe(0x6700);
    expect(tx(c, apdu(0, 0xd6, 0x00, 16, h('AA'))).sw).toBe(0x6b00);
    expect(hex(tx(c, '00B0000F01').data)).toBe('AA');
    expect(tx(c, apdu(0, 0xd6, 0x81, 0, h('AA'))).sw).toBe(0x6981);
  });
});

describe('VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER', () => {
  test('wrong PIN decrements, right PIN restores; empty VERIFY tells the tries without spending', () => {
    const c = card('demo');
    tx(c, selectInsured());
    expect(tx(c, '0020008100'.slice(0, 8)).sw).toBe(0x63c3);
    expect(tx(c, verifyPin('0000')).sw).toBe(0x63c2);
    expect(tx(c, '00200081').sw).toBe(0x63c2);
    expect(tx(c, verifyPin('1111')).sw).toBe(0x63c1);
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
    expect(c.triesLeft()).toBe(3);
    expect(tx(c, '00200081').sw).toBe(0x9000); // verified
    expect(tx(c, '0020FF81').sw).toBe(0x9000); // forget it
    expect(tx(c, '00200081').sw).toBe(0x63c3);
  });

  test('three wrong PINs block: 6983, even for the right PIN; reading PIN files then 6982', () => {
    const c = card('demo');
    tx(c, selectInsured());
    expect(tx(c, verifyPin('0000')).sw).toBe(0x63c2);
    expect(tx(c, verifyPin('0000')).sw).toBe(0x63c1);
    expect(tx(c, verifyPin('0000')).sw).toBe(0x63c0);
    expect(tx(c, verifyPin('1234')).sw).toBe(0x6983);
    expect(tx(c, '00200081').sw).toBe(0x6983);
    expect(tx(c, '00B0830000').sw).toBe(0x6982);
    expect(c.triesLeft()).toBe(0);
  });

  test('malformed blocks and wrong lengths cost nothing', () => {
    const c = card('demo');
    tx(c, selectInsured());
    expect(tx(c, apdu(0, 0x20, 0, 0x81, h('31323334'))).sw).toBe(0x6700);
    expect(tx(c, apdu(0, 0x20, 0, 0x81, h('31323334FFFFFF31'))).sw).toBe(0x6a80); // digit after padding
    expect(tx(c, apdu(0, 0x20, 0, 0x81, h('3132333435FFFFFF'))).sw).toBe(0x6a80); // 5 digits
    expect(tx(c, apdu(0, 0x20, 0, 0x81, h('41424344FFFFFFFF'))).sw).toBe(0x6a80);
    expect(tx(c, apdu(0, 0x20, 0, 0x83, pinBlock('1234'))).sw).toBe(0x6a88);
    expect(tx(c, apdu(0, 0x20, 1, 0x81, pinBlock('1234'))).sw).toBe(0x6a86);
    expect(c.triesLeft()).toBe(3);
  });

  test('CHANGE REFERENCE DATA: old + new; wrong old spends a try', () => {
    const c = card('demo');
    tx(c, selectInsured());
    expect(tx(c, apdu(0, 0x24, 0, 0x81, Buffer.concat([pinBlock('9999'), pinBlock('4321')]))).sw).toBe(0x63c2);
    expect(tx(c, apdu(0, 0x24, 0, 0x81, Buffer.concat([pinBlock('1234'), pinBlock('4321')]))).sw).toBe(0x9000);
    expect(c.triesLeft()).toBe(3);
    expect(tx(c, verifyPin('1234')).sw).toBe(0x63c2);
    expect(tx(c, verifyPin('4321')).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0x24, 1, 0x81, pinBlock('4321'))).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0x24, 0, 0x81, pinBlock('4321'))).sw).toBe(0x6700);
    expect(tx(c, apdu(0, 0x24, 0, 0x81, Buffer.concat([pinBlock('4321'), pinBlock('12')]))).sw).toBe(0x6a80);
  });

  test('RESET RETRY COUNTER with the PUK unblocks (with or without a new PIN); wrong PUK 63Cx; blocked PUK 6983', () => {
    const c = card('pin-blocked');
    tx(c, selectInsured());
    expect(tx(c, verifyPin('1234')).sw).toBe(0x6983);
    expect(tx(c, apdu(0, 0x2c, 1, 0x81, Buffer.from('00000000'))).sw).toBe(0x63c9);
    expect(c.triesLeft(0x82)).toBe(9);
    expect(tx(c, apdu(0, 0x2c, 1, 0x81, Buffer.from('12345678'))).sw).toBe(0x9000);
    expect(c.triesLeft(0x82)).toBe(10);
    expect(c.triesLeft()).toBe(3);
    expect(tx(c, verifyPin('1234')).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0x2c, 0, 0x81, Buffer.concat([Buffer.from('12345678'), pinBlock('2468')]))).sw).toBe(0x9000);
    expect(tx(c, '00B0830000').sw).toBe(0x6982); // the reset ends the verified state
    expect(tx(c, verifyPin('2468')).sw).toBe(0x9000);
    expect(tx(c, apdu(0, 0x2c, 2, 0x81, Buffer.from('12345678'))).sw).toBe(0x6a86);
    expect(tx(c, apdu(0, 0x2c, 1, 0x82, Buffer.from('12345678'))).sw).toBe(0x6a88);
    expect(tx(c, apdu(0, 0x2c, 1, 0x81, Buffer.from('1234567'))).sw).toBe(0x6700);
    for (let i = 9; i >= 0; i--) expect(tx(c, apdu(0, 0x2c, 1, 0x81, Buffer.from('00000000'))).sw).toBe(0x63c0 | i);
    expect(tx(c, apdu(0, 0x2c, 1, 0x81, Buffer.from('12345678'))).sw).toBe(0x6983);
  });

  test('the PIN state ends on reset, power-off and leaving the application', () => {
    const c = card('demo');
    const check = (): number => tx(c, '00B0830000').sw;
    tx(c, selectInsured());
    tx(c, verifyPin('1234'));
    expect(check()).toBe(0x9000);
    c.reset();
    tx(c, selectInsured());
    expect(check()).toBe(0x6982);
    tx(c, verifyPin('1234'));
    c.powerOff();
    c.powerOn();
    tx(c, selectInsured());
    expect(check()).toBe(0x6982);
    tx(c, verifyPin('1234'));
    tx(c, selectInsured()); // the same application again: kept
    expect(check()).toBe(0x9000);
    tx(c, '00A4000C'); // the MF
    tx(c, selectInsured());
    expect(check()).toBe(0x6982);
  });
});

describe('professional authentication and APPEND RECORD on the rings', () => {
  test('PIN + authenticated professional card: the appended record is record 1', () => {
    const insured = card('demo');
    const pro = card('pharmacist-1');
    tx(insured, selectInsured());
    const rec = dispensationTemplate(123456);
    expect(tx(insured, apdu(0, 0xe2, 0, 0x30, rec)).sw).toBe(0x6982); // nothing yet
    expect(tx(insured, verifyPin('1234')).sw).toBe(0x9000);
    expect(tx(insured, apdu(0, 0xe2, 0, 0x30, rec)).sw).toBe(0x6982); // PIN only
    expect(authenticateProfessional(insured, pro)).toBe(0x9000);
    expect(tx(insured, apdu(0, 0xe2, 0, 0x30, rec)).sw).toBe(0x9000);
    const r1 = tx(insured, '00B2013400');
    expect(r1.data.subarray(0, rec.length)).toEqual(rec);
    expect(tx(insured, '00B2053400').sw).toBe(0x9000); // 5 records now
    expect(tx(insured, apdu(0, 0xe2, 0, 0x30, Buffer.alloc(65, 0xe5))).sw).toBe(0x6700);
    // Prescriptions ring too.
    expect(tx(insured, apdu(0, 0xe2, 0, 0x28, h('E403800420250615'))).sw).toBe(0x9000);
    // Not the other files.
    expect(tx(insured, apdu(0, 0xe2, 0, 0x10, h('E100'))).sw).toBe(0x6982);
  });

  test('professional state needs the PIN too, and ends on reset', () => {
    const insured = card('demo');
    const pro = card('pharmacist-1');
    tx(insured, selectInsured());
    expect(authenticateProfessional(insured, pro)).toBe(0x9000);
    expect(tx(insured, apdu(0, 0xe2, 0, 0x30, dispensationTemplate(1))).sw).toBe(0x6982);
    insured.reset();
    tx(insured, selectInsured());
    tx(insured, verifyPin('1234'));
    expect(tx(insured, apdu(0, 0xe2, 0, 0x30, dispensationTemplate(1))).sw).toBe(0x6982);
  });

  test('the certificate by extended length works as well as chained', () => {
    const insured = card('demo');
    tx(insured, selectInsured());
    expect(tx(insured, apduExt(0, 0x2a, 0x00, 0xbe, keyFile('pharmacy-1.cert.der'))).sw).toBe(0x9000);
  });

  test('rejected certificates: rogue CA 6982, garbage 6A80, a CA certificate 6A80, expired by the card clock 6982', () => {
    const insured = card('demo');
    tx(insured, selectInsured());
    const send = (der: Buffer): number => {
      let sw = 0;
      for (const a of certificateApdus(der)) sw = tx(insured, a).sw;
      return sw;
    };
    expect(send(keyFile('rogue-pharmacy.cert.der'))).toBe(0x6982);
    expect(send(Buffer.from('3082000130', 'hex'))).toBe(0x6a80);
    expect(send(new X509Certificate(keyFile('fund-ca.pem')).raw)).toBe(0x6a80);
    expect(tx(insured, '002A00BE').sw).toBe(0x6700);
    const late = card('demo', { clock: new Date('2046-01-01T00:00:00Z') });
    tx(late, selectInsured());
    let sw = 0;
    for (const a of certificateApdus(keyFile('pharmacy-1.cert.der'))) sw = tx(late, a).sw;
    expect(sw).toBe(0x6982);
    const early = card('demo', { clock: new Date('2019-12-31T00:00:00Z') });
    tx(early, selectInsured());
    for (const a of certificateApdus(keyFile('pharmacy-1.cert.der'))) sw = tx(early, a).sw;
    expect(sw).toBe(0x6982);
  });

  test('a rogue card cannot authenticate; a wrong signature 6300; the challenge is single-use', () => {
    const insured = card('demo');
    const rogue = card('rogue-pharmacist');
    tx(insured, selectInsured());
    expect(authenticateProfessional(insured, rogue)).toBe(0x6982);
    // Right certificate, signature by another key.
    for (const a of certificateApdus(keyFile('pharmacy-1.cert.der'))) expect(tx(insured, a).sw).toBe(0x9000);
    const challenge = tx(insured, '0084000010').data;
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bad = cryptoSign('sha256', challenge, { key: other.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(tx(insured, apdu(0, 0x82, 0, 0, bad)).sw).toBe(0x6300);
    // The challenge is gone now, whatever the signature.
    expect(tx(insured, apdu(0, 0x82, 0, 0, bad)).sw).toBe(0x6985);
    // A right signature over a replayed (used) challenge fails too.
    const pro = card('pharmacist-1');
    tx(pro, selectProfessional());
    tx(pro, verifyPin('0000'));
    const replay = tx(pro, apdu(0, 0x88, 0, 1, challenge, 0)).data;
    expect(tx(insured, apdu(0, 0x82, 0, 0, replay)).sw).toBe(0x6985);
    tx(insured, '0084000010');
    expect(tx(insured, apdu(0, 0x82, 0, 0, replay)).sw).toBe(0x6300);
    expect(tx(insured, apdu(0, 0x82, 0, 1, replay)).sw).toBe(0x6a86);
    tx(insured, '0084000010');
    expect(tx(insured, apdu(0, 0x82, 0, 0, replay.subarray(0, 63))).sw).toBe(0x6700);
  });

  test('EXTERNAL AUTHENTICATE without a certificate → 6985; GET CHALLENGE lengths', () => {
    const insured = card('demo');
    tx(insured, selectInsured());
    tx(insured, '0084000010');
    expect(tx(insured, apdu(0, 0x82, 0, 0, Buffer.alloc(64))).sw).toBe(0x6985);
    expect(tx(insured, '0084000008').data.length).toBe(8);
    expect(tx(insured, '0084000004').sw).toBe(0x6700);
    expect(tx(insured, '0084000000').sw).toBe(0x6700); // Le 00 = 256
    expect(tx(insured, '00840000').sw).toBe(0x6700);
    expect(tx(insured, '0084000110').sw).toBe(0x6a86);
    const a = tx(insured, '0084000010').data;
    const b = tx(insured, '0084000010').data;
    expect(a.equals(b)).toBe(false);
  });
});

describe('professional card', () => {
  const pub = createPublicKey(keyFile('pharmacy-1.cert.pem'));

  test('INTERNAL AUTHENTICATE signs the data with the card key, after the PIN', () => {
    const pro = card('pharmacist-1');
    tx(pro, selectProfessional());
    const data = h('00112233445566778899AABBCCDDEEFF');
    expect(tx(pro, apdu(0, 0x88, 0, 1, data, 0)).sw).toBe(0x6982);
    expect(tx(pro, verifyPin('0000')).sw).toBe(0x9000);
    const r = tx(pro, apdu(0, 0x88, 0, 1, data, 0));
    expect(r.sw).toBe(0x9000);
    expect(r.data.length).toBe(64);
    expect(cryptoVerify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, r.data)).toBe(true);
    expect(tx(pro, apdu(0, 0x88, 0, 2, data, 0)).sw).toBe(0x6a88);
    expect(tx(pro, apdu(0, 0x88, 1, 1, data, 0)).sw).toBe(0x6a86);
    expect(tx(pro, '0088000100').sw).toBe(0x6700);
  });

  test('PSO: COMPUTE DIGITAL SIGNATURE over a digest verifies as ES256 over the message, deterministically', () => {
    const pro = card('pharmacist-1');
    tx(pro, selectProfessional());
    const message = Buffer.from('{"invoice":1,"total":12345}');
    const cds = apdu(0, 0x2a, 0x9e, 0x9a, sha256(message), 0);
    expect(tx(pro, cds).sw).toBe(0x6982);
    tx(pro, verifyPin('0000'));
    const r = tx(pro, cds);
    expect(r.sw).toBe(0x9000);
    expect(cryptoVerify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, r.data)).toBe(true);
    expect(tx(pro, cds).data).toEqual(r.data); // RFC 6979
    expect(tx(pro, apdu(0, 0x2a, 0x9e, 0x9a, Buffer.alloc(31), 0)).sw).toBe(0x6700);
    expect(tx(pro, apdu(0, 0x2a, 0x9e, 0x9b, sha256(message), 0)).sw).toBe(0x6a86);
    expect(tx(pro, apdu(0, 0x2a, 0x00, 0xbe, keyFile('pharmacy-1.cert.der').subarray(0, 200))).sw).toBe(0x6a81);
  });

  test('the insured card has no signing key; the professional card no fund CA', () => {
    const insured = card('demo');
    tx(insured, selectInsured());
    tx(insured, verifyPin('1234'));
    expect(tx(insured, apdu(0, 0x88, 0, 1, Buffer.alloc(16), 0)).sw).toBe(0x6a88);
    expect(tx(insured, apdu(0, 0x2a, 0x9e, 0x9a, Buffer.alloc(32), 0)).sw).toBe(0x6a88);
    const pro = card('pharmacist-1');
    tx(pro, selectProfessional());
    expect(tx(pro, apdu(0, 0x82, 0, 0, Buffer.alloc(64))).sw).toBe(0x6a88);
  });

  test('EF.PHARMACY and EF.CERTIFICATE are readable without PIN', () => {
    const pro = card('pharmacist-1');
    tx(pro, selectProfessional());
    expect(tx(pro, '00B0810000').data[0]).toBe(0xe6);
    expect(certificateOf(pro)).toEqual(keyFile('pharmacy-1.cert.der'));
    expect(tx(pro, apduExt(0, 0xb0, 0x82, 0, undefined, 1024)).data.subarray(0, 531)).toEqual(keyFile('pharmacy-1.cert.der'));
  });
});

describe('GET DATA', () => {
  test('historical bytes, extended length info, serial, public key; unknown tags 6A88', () => {
    const c = card('demo');
    expect(hex(tx(c, '00CA5F5200').data)).toBe('0073B621C005900032'.slice(0, 16));
    expect(hex(tx(c, '00CA7F6600').data)).toBe('0202FFFF0202FFFF');
    expect(tx(c, '00CA005A00').data.toString()).toBe('CH2-2024-000001');
    expect(tx(c, '00CA7F4900').sw).toBe(0x6a88);
    expect(tx(c, '00CA005A0001').sw).toBe(0x6700);
    const short = card('no-extended');
    expect(hex(tx(short, '00CA7F6600').data)).toBe('020200FF02020100');
    const pro = card('pharmacist-1');
    const pk = tx(pro, '00CA7F4900').data;
    expect(pk.subarray(0, 3)).toEqual(h('864104'));
    const jwk = createPublicKey(keyFile('pharmacy-1.cert.pem')).export({ format: 'jwk' });
    expect(pk.subarray(3, 35)).toEqual(Buffer.from(jwk.x!, 'base64url'));
  });
});

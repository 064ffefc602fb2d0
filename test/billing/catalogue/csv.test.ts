import fc from 'fast-check';
import { csvField, parseCsv } from '../../../src/billing/catalogue/csv';

describe('parseCsv', () => {
  test.each([
    [
      'LF records',
      'a,b\nc,d\n',
      [
        [1, ['a', 'b']],
        [2, ['c', 'd']],
      ],
    ],
    [
      'CRLF records, no final line end',
      'a,b\r\nc,d',
      [
        [1, ['a', 'b']],
        [2, ['c', 'd']],
      ],
    ],
    [
      'empty fields',
      ',\na,,\n',
      [
        [1, ['', '']],
        [2, ['a', '', '']],
      ],
    ],
    ['quoted comma and doubled quote', '"a,b","say ""hi"""\n', [[1, ['a,b', 'say "hi"']]]],
    [
      'quoted line break keeps the next record on the right line',
      '"x\ny",z\nnext,1\n',
      [
        [1, ['x\ny', 'z']],
        [3, ['next', '1']],
      ],
    ],
    ['empty quoted field', '"",x\n', [[1, ['', 'x']]]],
    [
      'byte-order mark and blank lines',
      '\ufeffa\n\n\r\nb\n',
      [
        [1, ['a']],
        [4, ['b']],
      ],
    ],
    ['spaces are data', ' a , b \n', [[1, [' a ', ' b ']]]],
  ])('%s', (_label, text, expected) => {
    const { records, errors } = parseCsv(text);
    expect(errors).toEqual([]);
    expect(records.map((r) => [r.line, r.fields])).toEqual(expected);
  });

  test.each([
    ['a quote inside an unquoted field', 'a,b"c,d\nok,1\n', { line: 1, column: 2 }, 'quote inside an unquoted field'],
    ['text after a closing quote', 'a,"b"c\nok,1\n', { line: 1, column: 2 }, 'after a closing quote'],
    ['a bare CR', 'a,b\rc\nok,1\n', { line: 1, column: 2 }, 'carriage return'],
  ])('%s is reported by line and column, and parsing resumes on the next line', (_label, text, where, message) => {
    const { records, errors } = parseCsv(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject(where);
    expect(errors[0]!.message).toContain(message);
    expect(records.map((r) => [r.line, r.fields])).toEqual([[2, ['ok', '1']]]);
  });

  test('an unterminated quote is reported at the line where its record starts', () => {
    const { records, errors } = parseCsv('ok,1\nx,"never\nclosed\n');
    expect(records.map((r) => r.fields)).toEqual([['ok', '1']]);
    expect(errors).toEqual([{ line: 2, column: 2, message: 'quoted field is never closed' }]);
  });

  test('round trip: any table written with csvField reads back the same, with `,` or `;` between fields', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'é', ',', ';', '"', '\n', '\r\n', ' ', '1') });
    const table = fc.array(fc.array(cell, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(table, fc.constantFrom(',' as const, ';' as const), (rows, delimiter) => {
        const text = rows.map((r) => r.map((f) => csvField(f, delimiter)).join(delimiter)).join('\r\n') + '\n';
        const { records, errors } = parseCsv(text, { delimiter });
        expect(errors).toEqual([]);
        expect(records.map((r) => r.fields)).toEqual(rows);
      }),
      { numRuns: 1000 },
    );
  });
});

import type { CardRead } from '../../../src/pos/counter/card-data';

/** A card read as the counter sees it (the demo family card's shape), for pure tests. */
export function cardRead(overrides: Partial<CardRead> = {}): CardRead {
  return {
    holder: {
      ssn: '180516012345',
      cardSerial: 'CH2-TEST-000001',
      lastName: 'BENALI',
      firstName: 'Karim',
      lastNameAr: 'بن علي',
      firstNameAr: 'كريم',
      birthDate: '1980-05-16',
      issueDate: '2024-01-15',
      expiryDate: '2034-01-14',
      cardType: 'family',
    },
    beneficiaries: [
      {
        rank: 1,
        relationship: 'insured',
        lastName: 'BENALI',
        firstName: 'Karim',
        lastNameAr: 'بن علي',
        firstNameAr: 'كريم',
        birthDate: '1980-05-16',
      },
      {
        rank: 2,
        relationship: 'spouse',
        lastName: 'BENALI',
        firstName: 'Amina',
        lastNameAr: 'بن علي',
        firstNameAr: 'أمينة',
        birthDate: '1984-11-02',
      },
      {
        rank: 3,
        relationship: 'child',
        lastName: 'BENALI',
        firstName: 'Yasmine',
        lastNameAr: 'بن علي',
        firstNameAr: 'ياسمين',
        birthDate: '2012-03-21',
      },
    ],
    rights: {
      fund: 'CNAS',
      categoryCode: 1,
      category: 'ordinary',
      categoryLabel: { fr: 'Assuré ordinaire', ar: 'مؤمن له عادي' },
      rateBp: 8000,
      rightsEnd: '2026-12-31',
      sequence: 0,
      issuedOn: null,
      cardValidUntil: null,
      chronic: [],
      beneficiaryRights: [],
    },
    emergency: { bloodGroup: 'A+', allergies: ['Amoxicilline'], conditions: [] },
    prescriptions: [],
    dispensations: [],
    ...overrides,
  };
}

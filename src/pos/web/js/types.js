// @ts-check
/**
 * The shapes of the counter API's answers that the page reads (docs/counter.md, the API table).
 * Types only: this module exports nothing at run time.
 */

/**
 * @typedef {object} Holder
 * @property {string} ssn
 * @property {string} cardSerial
 * @property {string} lastName
 * @property {string} firstName
 * @property {string} lastNameAr
 * @property {string} firstNameAr
 * @property {string} birthDate
 * @property {string} expiryDate
 */

/**
 * @typedef {object} Beneficiary
 * @property {number} rank
 * @property {'insured' | 'spouse' | 'child' | 'ascendant' | 'other'} relationship
 * @property {string} firstName
 * @property {string} lastName
 * @property {string} birthDate
 */

/**
 * @typedef {object} Rights
 * @property {'CNAS' | 'CASNOS'} fund
 * @property {number} categoryCode the card's code
 * @property {string | null} category the rules' category for the code (null: the rules do not know it)
 * @property {{ fr: string, ar: string } | null} categoryLabel
 * @property {number} rateBp
 * @property {string} rightsEnd
 * @property {number} sequence the fund's version of the rights (0 as issued)
 * @property {string | null} issuedOn
 * @property {string | null} cardValidUntil
 * @property {{ code: string, validUntil: string }[]} chronic
 * @property {{ rank: number, categoryCode: number, category: string | null, categoryLabel: { fr: string, ar: string } | null, rateBp: number, rightsEnd: string }[]} beneficiaryRights
 */

/**
 * @typedef {object} PrescriptionRecord
 * @property {string} date
 * @property {string} prescriberId
 * @property {string} speciality
 * @property {number} rank
 * @property {string} reference
 * @property {{ productCode: string, quantity: number, durationDays: number }[]} lines
 */

/**
 * @typedef {object} DispensationRecord
 * @property {string} date
 * @property {string} pharmacyId
 * @property {number} rank
 * @property {string} productCode
 * @property {number} quantity
 * @property {number} durationDays
 * @property {number | null} invoiceNumber
 * @property {string | null} prescriptionRef
 */

/**
 * @typedef {object} HistoryProgress  how far the dispensations have been read
 * @property {number} read
 * @property {number} of   what the ring holds (its record count once complete)
 * @property {boolean} complete
 */

/**
 * @typedef {object} CardRead  what the PIN opened, as far as it has been read
 * @property {Holder} holder
 * @property {Beneficiary[]} beneficiaries
 * @property {Rights} rights
 * @property {{ bloodGroup: string | null, allergies: string[], conditions: string[] }} emergency
 * @property {PrescriptionRecord[]} prescriptions
 * @property {DispensationRecord[]} dispensations
 * @property {{ prescriptions: boolean, history: HistoryProgress }} reading
 */

/**
 * @typedef {object} SyncProgress  an upload to the fund under way (`sync-progress` event)
 * @property {'running' | 'done' | 'failed'} state
 * @property {number} doneInvoices
 * @property {number} totalInvoices
 * @property {number} doneBatches
 * @property {number} totalBatches
 */

/**
 * @typedef {object} BatchJobProgress  a batch close job's state and counts (`batch-job` event)
 * @property {string} id
 * @property {'running' | 'done' | 'failed'} state
 * @property {number | null} batchId
 * @property {number} invoices
 * @property {number} doneInvoices
 * @property {number} totalInvoices
 * @property {number | null} accepted  the fund's answer, once the job is over (null without a fund, or before)
 * @property {number | null} rejected
 */

/**
 * @typedef {object} WriteProgress  a card write under way (`write-progress` event)
 * @property {number} invoiceNumber
 * @property {number} written
 * @property {number} records
 * @property {'writing' | 'done' | 'pending'} state
 */

/**
 * @typedef {object} PendingWrite
 * @property {number} invoiceNumber
 * @property {string} cardSerial
 * @property {number} records
 * @property {number} written
 */

/**
 * @typedef {object} Pharmacy
 * @property {string} pharmacyId
 * @property {string} name
 * @property {string} pharmacist
 */

/**
 * @typedef {object} Status
 * @property {'demo' | 'pcsc'} mode
 * @property {boolean} serviceAvailable
 * @property {{ name: string, cardPresent: boolean }[]} readers
 * @property {string} today
 * @property {{ present: boolean, opened: boolean, verified: boolean, holder: Holder | null, pinRetriesLeft: number | null }} insured
 * @property {{ present: boolean, unlocked: boolean, pharmacy: Pharmacy | null }} professional
 * @property {PendingWrite[]} pendingWrites
 * @property {{ lastNumber: number | null, openInvoices: number, unsentBatches: number, unsentInvoices: number, rejectedPending: number } | null} sync
 * @property {{ insuredPin: string, professionalPin?: string } | null} demo
 */

/**
 * @typedef {object} Product
 * @property {string} code
 * @property {string} dci
 * @property {string} brand
 * @property {string} form
 * @property {string} strength
 * @property {number} unitPrice
 * @property {number | null} referencePrice
 * @property {boolean} reimbursable
 * @property {boolean} priorApproval
 * @property {string} [gtin]
 * @property {string} [controlled]  the controlled table (psychotropics): a counterfoil prescription is needed
 */

/**
 * @typedef {object} QuoteLine
 * @property {number} total
 * @property {number} fund
 * @property {number} patient
 * @property {string | null} reason
 */

/**
 * @typedef {object} Quote
 * @property {number} total
 * @property {number} fund
 * @property {number} patient
 * @property {number} rateBp
 * @property {string} ruleVersion
 * @property {boolean} thirdPartyPayment
 * @property {string | null} reason
 * @property {QuoteLine[]} lines
 */

/**
 * @typedef {object} Warning
 * @property {'allergy' | 'possible-duplicate'} code
 * @property {number} line
 * @property {string} message
 * @property {Record<string, string | number | boolean>} details
 */

/**
 * A prescription on the card and what it still allows, per product.
 * @typedef {object} PrescriptionBalance
 * @property {string} reference
 * @property {number} rank
 * @property {{ productCode: string, prescribed: number, dispensed: number, remaining: number }[]} lines
 */

/** @typedef {{ quote: Quote, warnings: Warning[], prescription: PrescriptionBalance | null }} QuoteOutcome */

/**
 * "Clôturer et transmettre": the batch closed on the professional card and its upload.
 * @typedef {object} BatchJob
 * @property {string} id
 * @property {'running' | 'done' | 'failed'} state
 * @property {{ batchId: number, from: number, to: number, count: number, signed: boolean } | null} closed
 * @property {boolean} fundConfigured
 * @property {{ progress: { doneInvoices: number, totalInvoices: number }, accepted: number, rejected: number, error: { code: string, message: string } | null } | null} upload
 * @property {{ code: string, message: string } | null} error
 */

/**
 * @typedef {object} WriteOutcome
 * @property {number} invoiceNumber
 * @property {'pending' | 'done' | 'cancelled'} state
 * @property {number} records
 * @property {number} written
 * @property {{ code: string, message: string } | null} error
 */

/** @typedef {{ result: 'ok', card: CardRead, recovery: WriteOutcome[] } | { result: 'wrong-pin', retriesLeft: number }} VerifyOutcome */

/** @typedef {{ holder: Holder, pinRetriesLeft: number | null, verified: boolean }} OpenOutcome */

/** @typedef {{ invoice: { number: number }, cardWrite: WriteOutcome }} CheckoutOutcome */

/**
 * @typedef {object} ReceiptLine
 * @property {string} code
 * @property {string} label
 * @property {number} quantity
 * @property {number | null} durationDays
 * @property {number} unitPrice
 * @property {number | null} referencePrice
 * @property {number} total
 * @property {number} fund
 * @property {number} patient
 * @property {string | null} reason
 * @property {string | null} lot
 * @property {string | null} expiry
 * @property {string | null} serial
 */

/**
 * @typedef {object} Receipt
 * @property {number} number
 * @property {'invoice' | 'corrected-invoice' | 'credit-note'} kind
 * @property {string} date
 * @property {string} issuedAt
 * @property {string} hashPrefix
 * @property {{ pharmacyId: string, name: string | null, pharmacist: string | null, wilaya: number | null, agreement: string | null }} pharmacy
 * @property {'CNAS' | 'CASNOS'} fund
 * @property {{ cardSerial: string, insuredId: string | null, rank: number }} beneficiary
 * @property {{ reference: string, date: string | null, prescriber: string | null } | null} prescription
 * @property {string} category
 * @property {{ fr: string, ar: string } | null} categoryLabel
 * @property {number} rateBp
 * @property {string} ruleVersion
 * @property {ReceiptLine[]} lines
 * @property {{ total: number, fund: number, patient: number }} totals
 * @property {boolean} thirdPartyPayment
 * @property {string | null} reason
 * @property {{ state: string, records: number, written: number } | null} cardWrite
 * @property {number | null} creditNote
 * @property {{ number: number } | null} references
 */

/**
 * @typedef {object} RejectedInvoice
 * @property {number} number
 * @property {string} date
 * @property {string} code
 * @property {string} reason
 * @property {number} fundAmount
 * @property {number | null} correctedBy
 */

export {};

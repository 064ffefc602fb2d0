// @ts-check
/**
 * The shapes of the back office's API answers that its pages read (src/pos/backoffice/*.ts, the
 * server's own types; docs/backoffice.md). Types only: this module exports nothing at run time.
 */

/**
 * @typedef {object} BatchSummary
 * @property {number} id
 * @property {'open' | 'closed' | 'sent' | 'acknowledged' | 'settled'} state
 * @property {string} openedAt
 * @property {string | null} closedAt
 * @property {number} from
 * @property {number} to
 * @property {number} count
 * @property {{ invoices: number, total: number, fund: number, patient: number, credits: number, creditFund: number, claimed: number }} claim
 * @property {number | null} accepted
 * @property {number | null} rejected
 * @property {string | null} settledAt
 * @property {number | null} due
 * @property {string | null} transferReference
 * @property {number} received
 * @property {number} payments
 * @property {number} gap
 */

/**
 * @typedef {object} GapLine
 * @property {'rejected' | 'rejected-credit' | 'adjustment' | 'unexplained' | 'awaiting-ack' | 'not-received' | 'bank-difference'} kind
 * @property {number} amount
 * @property {number} [number]
 * @property {string | null} [code]
 * @property {string | null} [reason]
 */

/**
 * @typedef {object} BatchInvoice
 * @property {number} number
 * @property {string} kind
 * @property {string} date
 * @property {string} cardSerial
 * @property {number} total
 * @property {number} fund
 * @property {number} patient
 * @property {'accepted' | 'rejected' | null} status
 * @property {string | null} code
 * @property {string | null} reason
 * @property {number} adjustment
 * @property {number | null} correctedBy
 */

/**
 * @typedef {object} BankPayment
 * @property {number} seq
 * @property {number} batchId
 * @property {number} amount
 * @property {string} valueDate
 * @property {string} reference
 * @property {'manual' | 'statement'} source
 */

/**
 * @typedef {object} BatchDetail
 * @property {BatchSummary} batch
 * @property {BatchInvoice[]} invoices
 * @property {{ claimed: number, lines: GapLine[], received: number, gap: number }} explanation
 * @property {{ paid: number, accepted: number, settledAt: string, transferReference: string } | null} notice
 * @property {BankPayment[]} bankPayments
 */

/**
 * @typedef {object} AuditFinding
 * @property {number} number
 * @property {string} kind
 * @property {string} date
 * @property {string} cardSerial
 * @property {number} fund
 * @property {string} code
 * @property {'reject' | 'warning'} severity
 * @property {string} message
 * @property {boolean} correctable
 * @property {number | null} correctedBy
 */

/**
 * @typedef {object} AuditReport
 * @property {{ id: number, from: number, to: number, count: number, openedAt: string } | null} batch
 * @property {number} checked
 * @property {AuditFinding[]} findings
 * @property {number} atRisk
 */

/**
 * @typedef {object} RejectRow
 * @property {number} number
 * @property {string} kind
 * @property {number} batchId
 * @property {string} date
 * @property {string} cardSerial
 * @property {number} total
 * @property {number} fund
 * @property {string | null} code
 * @property {string | null} reason
 * @property {'to-correct' | 'corrected' | 'sent' | 'accepted' | 'rejected-again'} state
 * @property {{ number: number, batchId: number | null, batchState: string | null, status: string | null } | null} correction
 */

/**
 * @typedef {object} Amounts
 * @property {number} invoices
 * @property {number} total
 * @property {number} fund
 * @property {number} patient
 */

/**
 * @typedef {object} Statistics
 * @property {string} from
 * @property {string} to
 * @property {'day' | 'week' | 'month' | 'year'} period
 * @property {Amounts & { credits: number }} totals
 * @property {(Amounts & { period: string, credits: number })[]} series
 * @property {(Amounts & { category: string })[]} categories
 * @property {(Amounts & { name: string })[]} funds
 * @property {{ reason: string, invoices: number, total: number, patient: number }[]} refusals
 * @property {{ code: string, brand: string | null, dci: string | null, lines: number, quantity: number, total: number, fund: number, patient: number }[]} products
 * @property {{ dci: string, products: number, lines: number, quantity: number, total: number, fund: number, patient: number }[]} dcis
 */

/**
 * @typedef {object} RegisterEntry
 * @property {number} seq
 * @property {string} day
 * @property {number} invoice
 * @property {string} counterfoil
 * @property {string} cardSerial
 * @property {string | null} insuredId
 * @property {number} rank
 * @property {string | null} insuredName
 * @property {string | null} beneficiaryName
 * @property {string | null} prescriber
 * @property {string | null} speciality
 * @property {string | null} prescriptionRef
 * @property {string} code
 * @property {string} brand
 * @property {string} dci
 * @property {string} strength
 * @property {string} form
 * @property {string} table
 * @property {number} quantity
 * @property {string | null} lot
 * @property {number | null} cancelledBy
 */

/**
 * @typedef {object} Refill
 * @property {string} cardSerial
 * @property {number} rank
 * @property {string} code
 * @property {string | null} brand
 * @property {string | null} dci
 * @property {number} lastInvoice
 * @property {string} lastDay
 * @property {number} quantity
 * @property {number} durationDays
 * @property {string} runsOut
 * @property {number} daysLeft
 */

/**
 * @typedef {object} DciConsumption
 * @property {string} dci
 * @property {number} quantity
 * @property {number} days
 * @property {string} first
 * @property {string} last
 * @property {{ day: string, invoice: number, code: string, brand: string | null, quantity: number, durationDays: number, runsOut: string, cancelled: boolean }[]} lines
 */

export {};

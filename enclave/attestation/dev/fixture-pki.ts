// The parameters of the dev DCAP fixture set (test/fixtures/dcap-dev): a fixed seed and a fixed time, so every run
// derives the same keys and certificates. Kept apart from write-dev-fixtures.ts so the dev quote tool forge tests
// call once per quote loads only what a quote needs.
import { createDevPki, type DevPki } from './pki.js'

export const FIXTURE_SEED = 'cairn-dev-dcap-fixtures-v1'
/** 2026-01-01T00:00:00Z: collateral is valid 2025-12-31T00:00:00Z … 2026-01-31T00:00:00Z. */
export const FIXTURE_NOW = new Date('2026-01-01T00:00:00Z')
/** REPORTDATA of the fixture quotes: bytes 0x00..0x3f. */
export const FIXTURE_REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => i)

/** The dev PKI the fixtures are issued from. */
export const createFixturePki = (): DevPki => createDevPki(FIXTURE_SEED, { now: FIXTURE_NOW })

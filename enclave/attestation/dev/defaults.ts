import { fromHex, sha384, utf8 } from '../bytes.js'

/**
 * Defaults shared by the dev PKI, collateral and quotes, chosen so a default dev quote evaluates exactly like the
 * real `tdx_quote` sample does against its collateral: UpToDate platform level, TDX_01 module UpToDate, TD_QE
 * UpToDate. TD_QE and TDX-module values are Intel's public measurements copied from that sample; TD measurements
 * (MRTD, RTMRs) are dev placeholders.
 */

/** TEE_TCB_SVN: [0] TDX module ISVSVN 6, [1] module version 1 (→ identity "TDX_01"), [2] late microcode 3. */
export const DEFAULT_TEE_TCB_SVN = fromHex('06010300000000000000000000000000')
/** The sample's MRSEAM (Intel's TDX module 1.5 measurement). */
export const DEFAULT_MR_SEAM = fromHex(
  '5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1',
)
/** XFAM of the sample (x87, SSE, AVX, AVX-512, PKRU...). */
export const DEFAULT_XFAM = fromHex('e702060000000000')
/** TDATTRIBUTES bit 28 (SEPT_VE_DISABLE), little-endian u64: byte 3 = 0x10. */
export const SEPT_VE_DISABLE_BYTE = 3
export const SEPT_VE_DISABLE_BIT = 0x10

/** Placeholder TD measurements: clearly not a real image, stable across runs. */
export const devMeasurement = (label: string): Uint8Array => sha384(utf8(`cairn-dev:${label}`))

/** Intel's TD_QE as seen in the sample's QE report and QE identity. */
export const TD_QE = {
  cpuSvn: fromHex('0303191b04ff00060000000000000000'),
  miscselect: 0,
  /** ATTRIBUTES (16 bytes, byte order as in the report): INIT | MODE64BIT | PROVISIONKEY, XFRM 0xe7. */
  attributes: fromHex('1500000000000000e700000000000000'),
  mrEnclave: fromHex('e5a3a7b5d830c2953b98534c6c59a3a34fdc34e933f7f5898f0a85cf08846bca'),
  mrSigner: fromHex('dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5'),
  isvProdId: 2,
  isvSvn: 6,
} as const

/** The sample's QE auth data: bytes 0x00..0x1f. */
export const DEFAULT_QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i)

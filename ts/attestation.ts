/**
 * What the SDK needs from an attestation source, defined here so the SDK never imports a service: a quote binding
 * 64 bytes of report data to the TD's measurements (the configfs-tsm and dev providers in enclave/attestation
 * implement it), and Intel DCAP collateral in dcap-qvl's JSON shape (field names and order of the sample JSON).
 */
export type AttestationProvider = {
  name: string
  /** `reportData` must be exactly 64 bytes; it becomes the TD report's REPORTDATA (bytes 568..632 of a v4 quote, 574..638 of a v5). */
  getQuote(reportData: Uint8Array): Promise<Uint8Array>
}

export type DcapCollateral = {
  pck_crl_issuer_chain: string
  root_ca_crl: string
  pck_crl: string
  tcb_info_issuer_chain: string
  tcb_info: string
  tcb_info_signature: string
  qe_identity_issuer_chain: string
  qe_identity: string
  qe_identity_signature: string
}

// snarkjs ships no type declarations; only what ts/groth16.ts uses is declared.
declare module 'snarkjs' {
  export type SignalValue = bigint | number | string
  export type CircuitInput = Record<string, SignalValue | readonly SignalValue[]>

  export type Groth16SnarkjsProof = {
    pi_a: [string, string, string]
    pi_b: [[string, string], [string, string], [string, string]]
    pi_c: [string, string, string]
    protocol: 'groth16'
    curve: string
  }

  export type MemFile = { type: 'mem'; data?: Uint8Array }

  export const groth16: {
    fullProve(
      input: CircuitInput,
      wasmFile: string,
      zkeyFile: string,
      logger?: unknown,
      wtnsCalcOptions?: unknown,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16SnarkjsProof; publicSignals: string[] }>
    verify(vkey: unknown, publicSignals: readonly string[], proof: Groth16SnarkjsProof): Promise<boolean>
  }

  export const wtns: {
    calculate(input: CircuitInput, wasmFile: string, wtnsFile: MemFile, options?: unknown): Promise<void>
    exportJson(wtnsFile: MemFile): Promise<bigint[]>
  }
}

// ts/noir.ts: a Noir request's inputs checked against the circuit's ABI (every error names its field), the public
// ones encoded as UltraHonkVerifierAdapter's words and decoded back as the prover's backend does.
import { readFile } from 'node:fs/promises'
import { concat, type Hex, stringToBytes, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import {
  checkNoirInputs,
  decodeNoirPublicInputs,
  encodeNoirPublicInputs,
  NOIR_FIELD_MODULUS,
  type NoirAbi,
  NoirInputError,
  noirPublicInputCount,
  noirRequestInputs,
  parseNoirProgram,
  poseidon2Hash,
} from '../ts/noir.js'

const word = (v: bigint) => toHex(v, { size: 32 })

/** An ABI with every kind of type, public and private. */
const abi: NoirAbi = {
  parameters: [
    { name: 'root', type: { kind: 'field' }, visibility: 'public' },
    { name: 'delta', type: { kind: 'integer', sign: 'signed', width: 8 }, visibility: 'public' },
    { name: 'flags', type: { kind: 'array', length: 2, type: { kind: 'boolean' } }, visibility: 'public' },
    { name: 'tag', type: { kind: 'string', length: 3 }, visibility: 'public' },
    {
      name: 'point',
      type: {
        kind: 'struct',
        path: 'main::Point',
        fields: [
          { name: 'x', type: { kind: 'field' } },
          { name: 'y', type: { kind: 'integer', sign: 'unsigned', width: 32 } },
        ],
      },
      visibility: 'public',
    },
    { name: 'secret', type: { kind: 'field' }, visibility: 'private' },
    {
      name: 'path',
      type: { kind: 'array', length: 2, type: { kind: 'tuple', fields: [{ kind: 'field' }, { kind: 'boolean' }] } },
      visibility: 'private',
    },
  ],
  return_type: null,
  error_types: {},
}

const publicInputs = { root: '0x05', delta: -3, flags: [true, false], tag: 'abc', point: { x: '9', y: 4294967295 } }
const privateInputs = {
  secret: '42',
  path: [
    ['0x01', true],
    ['2', false],
  ],
}

function errorOf(work: () => unknown): NoirInputError {
  try {
    work()
  } catch (error) {
    expect(error).toBeInstanceOf(NoirInputError)
    return error as NoirInputError
  }
  throw new Error('expected a NoirInputError')
}

describe('Noir inputs against the circuit ABI', () => {
  it('flattens the public inputs to field words in declaration order and decodes them back', () => {
    expect(noirPublicInputCount(abi)).toBe(1 + 1 + 2 + 3 + 2)
    const encoded = encodeNoirPublicInputs(abi, publicInputs)
    expect(encoded).toBe(
      concat([
        word(5n),
        word(253n), // -3 as an i8: two's complement of its width
        word(1n),
        word(0n),
        word(0x61n),
        word(0x62n),
        word(0x63n),
        word(9n),
        word(4294967295n),
      ]),
    )
    expect(decodeNoirPublicInputs(abi, encoded)).toEqual({
      root: '0x5',
      delta: '-3',
      flags: [true, false],
      tag: 'abc',
      point: { x: '0x9', y: '0xffffffff' },
    })
  })

  it('splits a request’s inputs by visibility: public words, private JSON by name', () => {
    const { publicInputs: words, privateInputs: plaintext } = noirRequestInputs(abi, {
      ...publicInputs,
      ...privateInputs,
    })
    expect(words).toBe(encodeNoirPublicInputs(abi, publicInputs))
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({
      secret: '0x2a',
      path: [
        ['0x1', true],
        ['0x2', false],
      ],
    })
    // A circuit without private parameters has no private inputs plaintext.
    const publicOnly = { ...abi, parameters: abi.parameters.filter((p) => p.visibility === 'public') }
    expect(noirRequestInputs(publicOnly, publicInputs)).toEqual({ publicInputs: words })
  })

  it('names the field that does not fit', () => {
    const all = { ...publicInputs, ...privateInputs }
    const cases: [unknown, string, RegExp][] = [
      [{ ...all, secrte: '1' }, 'secrte', /the circuit has no parameter secrte/],
      [{ ...all, secret: undefined }, 'secret', /"?undefined"? is not a Field|missing/],
      [{ ...all, delta: 128 }, 'delta', /128 is out of range for a i8/],
      [{ ...all, flags: [true] }, 'flags', /expected an array of 2 × bool/],
      [{ ...all, flags: [true, 1] }, 'flags[1]', /expected true or false/],
      [{ ...all, tag: 'abcd' }, 'tag', /expected an ASCII string of 3 characters/],
      [{ ...all, point: { x: '1' } }, 'point.y', /missing \(a u32\)/],
      [{ ...all, point: { x: '1', y: 2, z: 3 } }, 'point.z', /main::Point has no field z/],
      [
        {
          ...all,
          path: [
            ['1', true],
            ['2', 'no'],
          ],
        },
        'path[1].1',
        /expected true or false/,
      ],
      [{ ...all, secret: NOIR_FIELD_MODULUS.toString() }, 'secret', /is not below the BN254 scalar field/],
      [{ ...all, secret: 2 ** 60 }, 'secret', /is not a Field/],
      [[1, 2], '(all)', /expected a JSON object/],
    ]
    for (const [inputs, field, message] of cases) {
      const error = errorOf(() => noirRequestInputs(abi, inputs))
      expect(error.field, JSON.stringify(inputs)).toBe(field)
      expect(error.message).toMatch(message)
      expect(error.message).toContain(`Noir input ${field}:`)
    }
    // Only the inputs of the visibility asked for: a public one among the private inputs is named as such.
    expect(errorOf(() => checkNoirInputs(abi, { ...privateInputs, root: '1' }, 'private')).message).toBe(
      'Noir input root: is a public input, not a private one',
    )
  })

  it('refuses public input words that are not the ABI’s', () => {
    const encoded = encodeNoirPublicInputs(abi, publicInputs)
    const replace = (i: number, value: bigint): Hex =>
      `0x${encoded.slice(2, 2 + 64 * i)}${word(value).slice(2)}${encoded.slice(2 + 64 * (i + 1))}`
    expect(errorOf(() => decodeNoirPublicInputs(abi, `${encoded}00`)).message).toMatch(/are 9 32-byte words/)
    expect(errorOf(() => decodeNoirPublicInputs(abi, replace(0, NOIR_FIELD_MODULUS))).field).toBe('root')
    expect(errorOf(() => decodeNoirPublicInputs(abi, replace(1, 256n))).field).toBe('delta')
    expect(errorOf(() => decodeNoirPublicInputs(abi, replace(2, 2n))).field).toBe('flags[0]')
    expect(errorOf(() => decodeNoirPublicInputs(abi, replace(4, 0x80n))).field).toBe('tag[0]')
  })

  it('reads the committed circuit’s program and computes its digest as the fixtures do', async () => {
    const program = parseNoirProgram(
      JSON.parse(await readFile(new URL('../noir/build/poseidon2_preimage.json', import.meta.url), 'utf8')),
      'poseidon2_preimage.json',
    )
    expect(noirPublicInputCount(program.abi)).toBe(2)
    const { fixtures } = JSON.parse(
      await readFile(new URL('../noir/build/poseidon2_preimage.fixtures.json', import.meta.url), 'utf8'),
    ) as { fixtures: { inputs: Record<string, Hex>; publicInputs: Hex }[] }
    for (const f of fixtures.slice(0, 3)) {
      expect(toHex(await poseidon2Hash([BigInt(f.inputs.preimage as Hex)]), { size: 32 })).toBe(f.inputs.digest)
      expect(noirRequestInputs(program.abi, f.inputs)).toEqual({
        publicInputs: f.publicInputs,
        privateInputs: stringToBytes(JSON.stringify({ preimage: toHex(BigInt(f.inputs.preimage as Hex)) })),
      })
    }
    expect(() => parseNoirProgram({ abi: program.abi }, 'x.json')).toThrow('x.json has no ACIR bytecode')
  })
})

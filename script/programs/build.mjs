#!/usr/bin/env node
// Assembles the TEE-WASM sample programs (programs/*.wat) into programs/*.wasm with wabt, and records each
// program's id (sha256 of the module bytes: what a market's TeeProofVerifier is deployed with) in
// programs/manifest.json.
//
//   node script/programs/build.mjs          assemble every program, rewrite the manifest
//   node script/programs/build.mjs --check  assemble in memory; fail if a committed .wasm or the manifest differs
//
// wabt's binary writer is deterministic (no timestamps, canonical LEBs), so the committed bytes are reproducible.

import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import initWabt from 'wabt'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const PROGRAMS = join(ROOT, 'programs')
const MANIFEST = join(PROGRAMS, 'manifest.json')
const check = process.argv.includes('--check')

const wabt = await initWabt()

function assemble(path) {
  const module = wabt.parseWat(basename(path), readFileSync(path, 'utf8'))
  try {
    module.resolveNames()
    module.validate()
    return Buffer.from(module.toBinary({ canonicalize_lebs: true }).buffer)
  } finally {
    module.destroy()
  }
}

const sources = readdirSync(PROGRAMS)
  .filter((name) => name.endsWith('.wat'))
  .sort()
const manifest = { wabt: JSON.parse(readFileSync(join(ROOT, 'node_modules/wabt/package.json'), 'utf8')).version }
const programs = {}
const failures = []
for (const source of sources) {
  const name = source.slice(0, -'.wat'.length)
  const wasm = assemble(join(PROGRAMS, source))
  const out = join(PROGRAMS, `${name}.wasm`)
  programs[name] = { wasm: `programs/${name}.wasm`, programId: `0x${createHash('sha256').update(wasm).digest('hex')}` }
  if (!check) {
    writeFileSync(out, wasm)
  } else if (!existsSync(out) || !readFileSync(out).equals(wasm)) {
    failures.push(`programs/${name}.wasm does not match programs/${source}`)
  }
  console.log(`${name}: ${wasm.length} bytes, program id ${programs[name].programId}`)
}
manifest.programs = programs
const manifestText = `${JSON.stringify(manifest, null, 2)}\n`
if (!check) {
  writeFileSync(MANIFEST, manifestText)
} else if (!existsSync(MANIFEST) || readFileSync(MANIFEST, 'utf8') !== manifestText) {
  failures.push('programs/manifest.json is stale')
}
if (failures.length > 0) {
  for (const failure of failures) console.error(`programs: ${failure}`)
  console.error('programs: run `node script/programs/build.mjs` and commit the result')
  process.exit(1)
}
if (check) console.log(`programs: ${sources.length} program(s) match their sources`)

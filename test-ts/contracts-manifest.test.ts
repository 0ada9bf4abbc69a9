// The contracts manifest (ts/contracts-manifest.ts) feeds the bindings, error decoding and deployment validation; this
// holds it to the forge deploy scripts, which write the deployment files, so a contract a script starts deploying, or
// a key it renames, fails here instead of as an unreadable deployment file at the first devnet run.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  bindingName,
  type ContractEntry,
  contractsManifest,
  type DeploymentFile,
  deploymentFiles,
  deploymentKeys,
} from '../ts/contracts-manifest.js'
import { parseAttestationDeployment, parseDeployment } from '../ts/deployment.js'
import * as bindings from '../ts/generated.js'
import { ethereumDeploymentSchema, marketplaceDeploymentSchema } from '../ts/restaking.js'
import { repoRoot } from '../ts/root.js'

const files = Object.keys(deploymentFiles) as DeploymentFile[]
const scripts = [...new Set(Object.values(deploymentFiles).map(({ script }) => script))]
const manifest: readonly ContractEntry[] = contractsManifest

const source = (script: string) => readFile(join(repoRoot, 'script', script), 'utf8')

/** Each function of a Solidity source with its body, braces matched. */
function functionsOf(text: string): { name: string; body: string }[] {
  const found: { name: string; body: string }[] = []
  for (const match of text.matchAll(/\bfunction (\w+)\([^)]*\)[^{;]*\{/g)) {
    let depth = 1
    let end = match.index + match[0].length
    while (depth > 0 && end < text.length) {
      if (text[end] === '{') depth += 1
      if (text[end] === '}') depth -= 1
      end += 1
    }
    found.push({ name: match[1] as string, body: text.slice(match.index, end) })
  }
  return found
}

type WrittenKey = { key: string; value: string }

/**
 * The address entries of the `contracts` object each function of a script serializes, by the deployment file it
 * writes: the script's only file, or for DeployRestaking the one of the mode the function records.
 */
async function writtenKeys(): Promise<Map<DeploymentFile, WrittenKey[]>> {
  const written = new Map<DeploymentFile, WrittenKey[]>()
  for (const script of scripts) {
    const own = files.filter((file) => deploymentFiles[file].script === script)
    for (const { body } of functionsOf(await source(script))) {
      const object = /string memory (\w+) = "contracts";/.exec(body)?.[1]
      if (object === undefined) continue
      const mode = /vm\.serializeString\(\w+, "mode", "(\w+)"\)/.exec(body)?.[1]
      const file =
        own.length === 1
          ? own[0]
          : own.find((candidate) => candidate.toLowerCase() === `restaking${mode}`.toLowerCase())
      if (file === undefined) throw new Error(`${script}: cannot tell which deployment file a function writes`)
      const entries = [...body.matchAll(new RegExp(`vm\\.serializeAddress\\(${object}, "(\\w+)", ([^;]+)\\);`, 'g'))]
      written.set(file, [
        ...(written.get(file) ?? []),
        ...entries.map(([, key, value]) => ({ key: key as string, value: value as string })),
      ])
    }
  }
  return written
}

/** The contract type a script declares `address(<expression>)`'s variable or struct field with, if a contract. */
function declaredContract(text: string, value: string): string | undefined {
  const name = /^address\((?:\w+\.)?(\w+)\)$/.exec(value.trim())?.[1]
  if (name === undefined) return undefined
  return new RegExp(`\\b([A-Z]\\w*)\\s+(?:memory\\s+)?${name}\\s*[;=]`).exec(text)?.[1]
}

/** The contracts under src/ a script deploys with `new`. */
function deployedFromSrc(text: string): string[] {
  const imported = new Set(
    [...text.matchAll(/import \{([^}]+)\} from "\.\.\/src\/[^"]+";/g)].flatMap(([, names]) =>
      (names as string).split(',').map((name) => name.trim()),
    ),
  )
  const created = [...text.matchAll(/\bnew ([A-Z]\w*)\s*[({]/g)].map(([, name]) => name as string)
  return [...new Set(created.filter((name) => imported.has(name)))]
}

const sample = (keys: readonly string[]) =>
  Object.fromEntries(keys.map((key, i) => [key, `0x${(i + 1).toString(16).padStart(40, '0')}`]))

describe('contracts manifest', () => {
  it('lists every contract under src/ a deploy script deploys, in a file that script writes', async () => {
    for (const script of scripts) {
      const own = files.filter((file) => deploymentFiles[file].script === script)
      for (const artifact of deployedFromSrc(await source(script))) {
        const entry = manifest.find((candidate) => candidate.artifact === artifact)
        expect(entry, `${script} deploys ${artifact}`).toBeDefined()
        const deployedIn = Object.keys(entry?.deployedAs ?? {})
        expect(
          own.some((file) => deployedIn.includes(file)),
          `${artifact} is deployed by ${script}: give it a key of ${own.join(' or ')}`,
        ).toBe(true)
      }
    }
  })

  it('has the contracts keys the deploy scripts write, for the contracts they write there', async () => {
    const written = await writtenKeys()
    expect([...written.keys()].sort()).toEqual([...files].sort())
    for (const file of files) {
      const text = await source(deploymentFiles[file].script)
      const entries = written.get(file) ?? []
      expect(entries.map(({ key }) => key).sort(), `${file}: keys of ${deploymentFiles[file].script}`).toEqual(
        [...deploymentKeys(file)].sort(),
      )
      for (const { key, value } of entries) {
        const contract = declaredContract(text, value)
        if (contract === undefined) continue // a plain address (a factory-made vault, an external collateral)
        const entry = manifest.find((candidate) => candidate.artifact === contract)
        expect(entry?.deployedAs?.[file] ?? [], `${file}: ${key} holds a ${contract}`).toContain(key)
      }
    }
  })

  it('gives the SDK the deployment files’ keys', () => {
    const common = { chainId: 31337, deployBlock: 0, owner: sample(['a']).a }
    const marketplace = { ...common, treasury: common.owner, matcher: common.owner }
    const contracts = sample(deploymentKeys('marketplace'))
    expect(Object.keys(parseDeployment({ ...marketplace, contracts }).contracts).sort()).toEqual(
      Object.keys(contracts).sort(),
    )
    const [first = '', ...rest] = deploymentKeys('marketplace')
    expect(() => parseDeployment({ ...marketplace, contracts: sample(rest) })).toThrow(`contracts.${first}`)
    const attestation = { ...common, intelRoot: false, rootPemBodyHash: `0x${'11'.repeat(32)}` }
    const attested = sample(deploymentKeys('attestation'))
    expect(Object.keys(parseAttestationDeployment({ ...attestation, contracts: attested }).contracts).sort()).toEqual(
      Object.keys(attested).sort(),
    )
    // The restaking files' schemas (ts/restaking.ts) spell their keys out; the Symbiotic core's own addresses sit
    // under `contracts.symbiotic`, outside the manifest.
    expect(Object.keys(marketplaceDeploymentSchema.shape.contracts.shape).sort()).toEqual(
      [...deploymentKeys('restakingMarketplace')].sort(),
    )
    expect(
      Object.keys(ethereumDeploymentSchema.shape.contracts.shape)
        .filter((key) => key !== 'symbiotic')
        .sort(),
    ).toEqual([...deploymentKeys('restakingEthereum')].sort())
  })

  it('names each contract once, each with a binding', () => {
    const artifacts = manifest.map(({ artifact }) => artifact)
    expect(new Set(artifacts).size).toBe(artifacts.length)
    for (const artifact of artifacts) expect(Object.keys(bindings)).toContain(bindingName(artifact))
    expect(Object.keys(bindings).sort()).toEqual(artifacts.map(bindingName).sort())
  })
})

// `npm run check:layers`: the TypeScript side is a one-way stack. Every relative import must point to the importer's
// own layer or one below it, peers (the three services) never import each other, and no two folders import each
// other, directly or around a loop. Prints every import against the direction and every folder cycle, and exits 1
// if there is any.
//   node script/check-layers.mjs [--root <checkout>]   (--root: another tree, for the checker's own tests)
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { root: { type: 'string' } } })
const root = resolve(values.root ?? join(dirname(fileURLToPath(import.meta.url)), '..'))

/**
 * The layers, bottom first. A folder belongs to the layer whose prefix matches it longest; a layer may import
 * itself and every layer before it. Layers of one `level` are peers: none imports another.
 */
const layers = [
  { name: 'SDK', level: 0, prefixes: ['ts/'] },
  { name: 'service kit', level: 1, prefixes: ['ts/service/'] },
  { name: 'attestation providers', level: 2, prefixes: ['enclave/attestation/'] },
  // The dev DCAP stack stands in for TDX hardware; no production provider may depend on it.
  { name: 'dev attestation', level: 3, prefixes: ['enclave/attestation/dev/'] },
  // The quote source a service's config names: a TD's configfs-tsm, or the dev stack.
  { name: 'quote source', level: 4, prefixes: ['enclave/quote-source/'] },
  { name: 'matcher', level: 5, prefixes: ['enclave/matcher/'] },
  { name: 'prover runner', level: 5, prefixes: ['enclave/prover/'] },
  { name: 'relayer', level: 5, prefixes: ['relayer/'] },
  // Read-only: the SDK and the service kit, nothing of the services it shows.
  { name: 'explorer', level: 5, prefixes: ['explorer/'] },
  { name: 'CLI', level: 6, prefixes: ['ts/cli/'] },
  { name: 'devnet', level: 7, prefixes: ['ts/devnet/'] },
  { name: 'tests and tools', level: 8, prefixes: ['test-ts/', 'script/'] },
]
const scanned = ['ts', 'enclave', 'relayer', 'explorer', 'test-ts', 'script']

/** The layer of a path relative to the root (a file's folder, with a trailing slash). */
function layerOf(folder) {
  let best
  for (const layer of layers) {
    for (const prefix of layer.prefixes) {
      if (folder.startsWith(prefix) && (best === undefined || prefix.length > best.prefix.length)) {
        best = { layer, prefix }
      }
    }
  }
  return best?.layer
}

/** Every .ts file under `dir`, relative to the root. */
function sources(dir) {
  const found = []
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) found.push(...sources(path))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path)
  }
  return found
}

// Static imports and re-exports (`from '…'`, also across lines), side-effect imports and dynamic import('…').
const specifiers = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm

/** The relative imports of one file, as [line, imported file relative to the root]. */
function importsOf(file) {
  const text = readFileSync(join(root, file), 'utf8')
  const found = []
  for (const match of text.matchAll(specifiers)) {
    const line = text.slice(0, match.index).split('\n').length
    const target = normalize(join(dirname(file), match[1])).replace(/\.js$/, '.ts')
    found.push([line, target])
  }
  return found
}

const violations = []
/** folder → folders it imports from (other than itself). */
const folderGraph = new Map()
const files = scanned.filter((dir) => existsSync(join(root, dir))).flatMap(sources)
for (const file of files) {
  const from = `${dirname(file)}/`
  const fromLayer = layerOf(from)
  for (const [line, target] of importsOf(file)) {
    const to = `${dirname(target)}/`
    if (to !== from) {
      if (!folderGraph.has(from)) folderGraph.set(from, new Set())
      folderGraph.get(from).add(to)
    }
    const toLayer = layerOf(to)
    if (fromLayer === undefined || toLayer === undefined || toLayer === fromLayer) continue
    if (toLayer.level > fromLayer.level) {
      violations.push(`${file}:${line} imports ${target}: the ${fromLayer.name} may not import the ${toLayer.name}`)
    } else if (toLayer.level === fromLayer.level) {
      violations.push(`${file}:${line} imports ${target}: the ${fromLayer.name} and the ${toLayer.name} are peers`)
    }
  }
}

/** Folder cycles: the strongly connected components of more than one folder (Tarjan). */
function cycles(graph) {
  const index = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const found = []
  let next = 0
  const visit = (node) => {
    index.set(node, next)
    low.set(node, next)
    next++
    stack.push(node)
    onStack.add(node)
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to)
        low.set(node, Math.min(low.get(node), low.get(to)))
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node), index.get(to)))
    }
    if (low.get(node) !== index.get(node)) return
    const component = []
    for (let member = stack.pop(); ; member = stack.pop()) {
      onStack.delete(member)
      component.push(member)
      if (member === node) break
    }
    if (component.length > 1) found.push(component.sort())
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

/** The imports that make up a folder cycle (each importing file and target once), so the message says what to change. */
function cycleEdges(component) {
  const members = new Set(component)
  const edges = new Map()
  for (const file of files) {
    const from = `${dirname(file)}/`
    if (!members.has(from)) continue
    for (const [line, target] of importsOf(file)) {
      const key = `${file} → ${target}`
      if (`${dirname(target)}/` !== from && members.has(`${dirname(target)}/`) && !edges.has(key)) {
        edges.set(key, `    ${file}:${line} → ${target}`)
      }
    }
  }
  return [...edges.values()]
}

for (const component of cycles(folderGraph)) {
  violations.push(`folders import each other: ${component.join(' ⇄ ')}\n${cycleEdges(component).join('\n')}`)
}

/**
 * The top-level area of a folder: its first segment (`enclave`, `relayer`), or `ts/<folder>` for the layers inside
 * ts/. Two areas must not import each other either, even through different subfolders (enclave/matcher → ts/service
 * → enclave/attestation makes `enclave ⇄ ts/service` a loop a reader has to untangle).
 */
function areaOf(folder) {
  const [first, second] = folder.split('/')
  return first === 'ts' && second !== '' && second !== undefined ? `ts/${second}` : first
}

const areaGraph = new Map()
for (const [from, targets] of folderGraph) {
  for (const to of targets) {
    if (areaOf(from) === areaOf(to)) continue
    if (!areaGraph.has(areaOf(from))) areaGraph.set(areaOf(from), new Set())
    areaGraph.get(areaOf(from)).add(areaOf(to))
  }
}
for (const component of cycles(areaGraph)) {
  const members = new Set(component)
  const edges = new Map()
  for (const file of files) {
    for (const [line, target] of importsOf(file)) {
      const [from, to] = [areaOf(`${dirname(file)}/`), areaOf(`${dirname(target)}/`)]
      const key = `${from} → ${to}`
      if (from !== to && members.has(from) && members.has(to) && !edges.has(key)) {
        edges.set(key, `    ${file}:${line} → ${target}`)
      }
    }
  }
  violations.push(`areas import each other: ${component.join(' ⇄ ')}, e.g.\n${[...edges.values()].join('\n')}`)
}

if (violations.length > 0) {
  console.error(`${violations.length} import(s) break the one-way stack (layers in script/check-layers.mjs):`)
  for (const violation of violations) console.error(`  ${violation}`)
  process.exit(1)
}
console.log(`layers: ${files.length} files, no import against the direction, no folder or area cycle`)

// Keeps package-lock.json installable with `npm ci` everywhere. The registry mirror this project is built against
// lacks some other-platform builds of optional native packages (forge/anvil/cast, biome), so `npm install` leaves
// them out of the lock file and `npm ci` then refuses the lock as out of sync. This adds an entry for every
// missing optional dependency, marked with its os/cpu so npm skips it on other platforms, exactly as npm itself
// records platform packages. Run after `npm install` changes the lock file.
import { readFileSync, writeFileSync } from 'node:fs'

const path = new URL('../package-lock.json', import.meta.url)
const lock = JSON.parse(readFileSync(path, 'utf8'))
const packages = lock.packages

const osOf = (name) =>
  ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'sunos', 'aix'].find((os) => name.includes(os))
const cpuOf = (name) => {
  if (/arm64/.test(name)) return 'arm64'
  if (/x64|amd64/.test(name)) return 'x64'
  if (/ia32/.test(name)) return 'ia32'
  if (/arm/.test(name)) return 'arm'
  return undefined
}

let added = 0
for (const [key, entry] of Object.entries(packages)) {
  if (!entry.optionalDependencies || entry.extraneous) continue
  const parentDir = key === '' ? '' : `${key}/`
  for (const [dep, version] of Object.entries(entry.optionalDependencies)) {
    if (packages[`${parentDir}node_modules/${dep}`] || packages[`node_modules/${dep}`]) continue
    const os = osOf(dep)
    const cpu = cpuOf(dep)
    if (!os || !cpu) continue
    packages[`node_modules/${dep}`] = {
      version,
      cpu: [cpu],
      dev: entry.dev ?? undefined,
      license: entry.license,
      optional: true,
      os: [os],
    }
    added++
  }
}
const sorted = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
)
lock.packages = sorted
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`lockfile-platforms: added ${added} platform entries`)

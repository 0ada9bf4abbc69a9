// Screenshots of a running explorer for the README (docs/explorer/): the markets, a request's timeline, a prover, the
// restaking page. Against `npm run devnet` once its four requests are done:
//   npx tsx script/explorer/screenshots.ts --url http://127.0.0.1:<explorer port> [--out docs/explorer]
// Headless Chromium (`apt-get install -y chromium`, or CHROMIUM_PATH), 1280x800 viewport, one screen per page. Each
// PNG is re-encoded with a palette of its 256 most used colours (the pages are flat colours and anti-aliased text, so
// nothing visible is lost), which makes it about half of Chromium's size with no image tool installed.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { deflateSync, inflateSync } from 'node:zlib'
import { chromium } from 'playwright-core'

const { values } = parseArgs({
  options: { url: { type: 'string' }, out: { type: 'string', default: 'docs/explorer' } },
})
if (values.url === undefined) throw new Error('--url <explorer URL> is required (the devnet prints it)')
const base = values.url.replace(/\/$/, '')
const out = resolve(values.out)
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium`)

await mkdir(out, { recursive: true })
const profile = await mkdtemp(join(tmpdir(), 'cairn-explorer-shots-'))
const browser = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
})
try {
  const page = await browser.newPage()
  await page.goto(`${base}/`)
  // The oldest request with the longest timeline (the devnet's first: signed, assigned, its data key released,
  // fulfilled); the live feed lists the newest first.
  const requests = await page
    .locator('a[href^="/request/"]')
    .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''))
  let request = requests[0]
  let steps = -1
  for (const href of new Set(requests)) {
    await page.goto(`${base}${href}`)
    const count = await page.locator('tr[data-step]').count()
    if (count >= steps) [request, steps] = [href, count]
  }
  const prover = await page.locator('a[href^="/prover/"]').first().getAttribute('href')
  const shots: [string, string][] = [
    ['markets', '/'],
    ...(request === undefined ? [] : ([['request', request]] as [string, string][])),
    ...(prover === null ? [] : ([['prover', prover]] as [string, string][])),
    ['restaking', '/restaking'],
  ]
  for (const [name, path] of shots) {
    await page.goto(`${base}${path}`)
    const file = join(out, `${name}.png`)
    const png = await page.screenshot()
    const small = toPalette(png)
    await writeFile(file, small)
    console.log(`${name.padEnd(10)} ${path}  ${file} (${kib(png)} KiB from Chromium, ${kib(small)} KiB written)`)
  }
} finally {
  await browser.close()
  await rm(profile, { recursive: true, force: true })
}

function kib(bytes: Uint8Array): number {
  return Math.round(bytes.length / 1024)
}

/** Chromium's PNG (8-bit RGB or RGBA, not interlaced) as an 8-bit palette PNG of its 256 most used colours. */
function toPalette(png: Buffer): Buffer {
  const chunks: { type: string; data: Buffer }[] = []
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at)
    chunks.push({ type: png.toString('latin1', at + 4, at + 8), data: png.subarray(at + 8, at + 8 + length) })
    at += 12 + length
  }
  const header = chunks.find((chunk) => chunk.type === 'IHDR')?.data
  if (header === undefined || header[8] !== 8 || header[12] !== 0) return png
  const channels = header[9] === 6 ? 4 : header[9] === 2 ? 3 : 0
  if (channels === 0) return png
  const width = header.readUInt32BE(0)
  const height = header.readUInt32BE(4)
  const raw = inflateSync(Buffer.concat(chunks.filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data)))
  const stride = width * channels
  const pixels = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) unfilter(raw, pixels, y, stride, channels)
  // Colours by use; each pixel takes the nearest of the 256 most used.
  const rgbAt = (i: number) => (pixels.readUInt8(i) << 16) | (pixels.readUInt8(i + 1) << 8) | pixels.readUInt8(i + 2)
  const uses = new Map<number, number>()
  for (let i = 0; i < pixels.length; i += channels) uses.set(rgbAt(i), (uses.get(rgbAt(i)) ?? 0) + 1)
  const palette = [...uses.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 256)
    .map(([rgb]) => rgb)
  const nearest = new Map<number, number>()
  const indexOf = (rgb: number) => {
    let found = nearest.get(rgb)
    if (found !== undefined) return found
    let best = Number.POSITIVE_INFINITY
    found = 0
    palette.forEach((candidate, i) => {
      const dr = ((candidate >> 16) & 255) - ((rgb >> 16) & 255)
      const dg = ((candidate >> 8) & 255) - ((rgb >> 8) & 255)
      const db = (candidate & 255) - (rgb & 255)
      const distance = 2 * dr * dr + 4 * dg * dg + 3 * db * db
      if (distance < best) [best, found] = [distance, i]
    })
    nearest.set(rgb, found)
    return found
  }
  const indexed = Buffer.alloc((width + 1) * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) indexed[y * (width + 1) + 1 + x] = indexOf(rgbAt(y * stride + x * channels))
  }
  const ihdr = Buffer.from(header)
  ihdr[9] = 3
  const plte = Buffer.alloc(palette.length * 3)
  for (const [i, rgb] of palette.entries()) plte.writeUIntBE(rgb, i * 3, 3)
  return Buffer.concat([
    png.subarray(0, 8),
    chunk('IHDR', ihdr),
    chunk('PLTE', plte),
    chunk('IDAT', deflateSync(indexed, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** Undoes row `y`'s PNG filter from `raw` (one filter byte, then the row) into `pixels`. */
function unfilter(raw: Buffer, pixels: Buffer, y: number, stride: number, bpp: number): void {
  const filter = raw[y * (stride + 1)]
  const from = y * (stride + 1) + 1
  const row = y * stride
  for (let i = 0; i < stride; i++) {
    const left = i >= bpp ? pixels.readUInt8(row + i - bpp) : 0
    const up = y > 0 ? pixels.readUInt8(row - stride + i) : 0
    const upLeft = y > 0 && i >= bpp ? pixels.readUInt8(row - stride + i - bpp) : 0
    let predicted = 0
    if (filter === 1) predicted = left
    else if (filter === 2) predicted = up
    else if (filter === 3) predicted = (left + up) >> 1
    else if (filter === 4) {
      const p = left + up - upLeft
      const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)]
      predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
    }
    pixels[row + i] = (raw.readUInt8(from + i) + predicted) & 255
  }
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

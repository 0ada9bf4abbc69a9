// Loads the TypeScript sources of the `cairn` CLI through tsx (a devDependency: `npm install` first) and runs it.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../ts/cli/main.ts')
const code = await main(process.argv.slice(2))
// Exit once stdout has drained: idle HTTP keep-alive sockets must not hold the process open.
process.stdout.write('', () => process.exit(code))

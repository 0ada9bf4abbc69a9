import { defineConfig } from '@wagmi/cli'
import { foundry } from '@wagmi/cli/plugins'
import { artifactPath, contractsManifest } from './ts/contracts-manifest.js'

export default defineConfig({
  out: 'ts/generated.ts',
  plugins: [
    foundry({
      project: '.',
      // `npm run build` runs `forge build` first; building here again would double the solc-js compile time.
      forge: { build: false, rebuild: false, path: 'node_modules/.bin/forge' },
      // Only the manifest's artifacts: forge-std, test and script artifacts stay out of the bindings.
      include: contractsManifest.map(({ artifact }) => artifactPath(artifact)),
    }),
  ],
})

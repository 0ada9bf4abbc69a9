// The stake tree lives in the SDK (ts/stake-tree.ts): provers rebuild it to prove their leaves.
export * from '../../ts/stake-tree.js'

import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesToHex, parseEther } from 'viem'
import { foundry } from 'viem/chains'
import { afterAll, describe, expect, it } from 'vitest'
import { createDevPki } from '../enclave/attestation/dev/index.js'
import { anvilAccount, devRoles } from '../ts/devnet/accounts.js'
import { deployAttestationWithForge, deployRestakingWithForge } from '../ts/devnet/deploy.js'
import { repoRoot } from '../ts/devnet/paths.js'
import {
  bindingNonce,
  bindOperator,
  CairnContractError,
  connect,
  depositToVault,
  ethereumDeploymentSchema,
  getBinding,
  getMiddlewareStakes,
  getMirroredStake,
  getNetworkVaults,
  getSlashingWindow,
  getStakeLock,
  getVaultInfo,
  isOperator,
  isOptedIn,
  lastBlockAtOrBefore,
  marketplaceDeploymentSchema,
  mintDevToken,
  optInToNetwork,
  optInToVault,
  optInVault,
  optOutVault,
  proveStakeLeaf,
  readStakeLeaves,
  registerOperator,
  StakeProofError,
  signOperatorBinding,
  stakeMirrorAbi,
  stakeTree,
  symbioticOf,
} from '../ts/index.js'
import { advanceTime, useDevnet } from './anvil.js'
import { cairnJson, startCairn } from './cairn.js'

const DEPOSIT = parseEther('1000')
const operator = anvilAccount(5)
const staker = anvilAccount(6)
const written: string[] = []

/**
 * Both restaking ends on one anvil (the SDK does not care which chain is which): the attestation stack for the
 * relayer registry, the StakeMirror approved on the marketplace, and the Symbiotic core with Cairn's middleware and
 * two vaults whose Cairn shares go to `operator`.
 */
const current = useDevnet(async (devnet) => {
  const { anvil, deployment, reader } = devnet
  const deployerKey = anvilAccount(devRoles.deployer).privateKey
  const head = await reader.public.getBlock({ blockTag: 'latest' })
  const pki = createDevPki('cairn restaking sdk', { now: new Date(Number(head.timestamp) * 1000) })
  const files = {
    attestation: `deployments/e2e-${anvil.port}.attestation.json`,
    marketplace: `deployments/e2e-${anvil.port}.mirror.json`,
    ethereum: `deployments/e2e-${anvil.port}.restaking.json`,
  }
  written.push(...Object.values(files))
  const attestation = await deployAttestationWithForge({
    rpcUrl: anvil.rpcUrl,
    chainId: foundry.id,
    deployerKey,
    rootDer: bytesToHex(pki.root.der),
    out: files.attestation,
  })
  const mirror = marketplaceDeploymentSchema.parse(
    await deployRestakingWithForge({
      mode: 'MARKETPLACE',
      rpcUrl: anvil.rpcUrl,
      deployerKey,
      relayerRegistry: attestation.contracts.teeRegistry,
      marketplace: deployment.contracts.proofMarketplace,
      out: files.marketplace,
    }),
  )
  const ethereum = ethereumDeploymentSchema.parse(
    await deployRestakingWithForge({
      mode: 'ETHEREUM',
      rpcUrl: anvil.rpcUrl,
      deployerKey,
      relayerRegistry: attestation.contracts.teeRegistry,
      sourceChainId: foundry.id,
      sourceMirror: mirror.contracts.stakeMirror,
      operator: operator.account.address,
      out: files.ethereum,
    }),
  )
  return { mirror, ethereum, core: symbioticOf(ethereum), files }
})

afterAll(async () => {
  for (const file of written) await rm(join(repoRoot, file), { force: true })
})

describe('restaking SDK on the real Symbiotic core', () => {
  it('operator registers and opts in, both sides sign the binding, a staker deposits, the prover proves its leaf', async () => {
    const { devnet, fixture } = current()
    const { reader, actors, deployment } = devnet
    const { middleware, vault, collateral } = fixture.ethereum.contracts
    const { core } = fixture
    const asOperator = connect(reader, operator.account)
    const asStaker = connect(reader, staker.account)
    const prover = actors.prover.wallet.account.address
    expect(fixture.mirror.token).toBe(collateral)

    await registerOperator(asOperator, { operatorRegistry: core.operatorRegistry })
    expect(
      await isOperator(reader, { operatorRegistry: core.operatorRegistry, operator: operator.account.address }),
    ).toBe(true)
    await optInToNetwork(asOperator, core, middleware)
    await optInToVault(asOperator, core, vault)
    expect(
      await isOptedIn(reader, { service: core.operatorVaultOptInService, who: operator.account.address, where: vault }),
    ).toBe(true)

    // Each side signs with its own nonce; a signature by a third party is refused before anything is signed.
    const deadline = (await reader.public.getBlock({ blockTag: 'latest' })).timestamp + 3_600n
    const binding = { middleware, operator: operator.account.address, prover, deadline }
    await expect(signOperatorBinding(staker.account, reader, binding)).rejects.toThrow(
      /neither the operator nor the prover/,
    )
    const operatorSignature = await signOperatorBinding(operator.account, reader, binding)
    const proverSignature = await signOperatorBinding(anvilAccount(devRoles.prover).account, reader, binding)
    const swapped = await bindOperator(asStaker, {
      ...binding,
      operatorSignature: proverSignature,
      proverSignature: operatorSignature,
    }).catch((e: unknown) => e)
    expect(swapped).toBeInstanceOf(CairnContractError)
    expect(swapped).toMatchObject({ name: 'InvalidOperatorSignature' })
    const bound = await bindOperator(asStaker, { ...binding, operatorSignature, proverSignature })
    // An operator's first binding holds at once.
    const boundAt = Number((await reader.public.getBlock({ blockNumber: bound.receipt.blockNumber })).timestamp)
    expect(bound).toMatchObject({ operator: operator.account.address, prover, effectiveAt: boundAt })
    expect(await getBinding(reader, { middleware, prover })).toEqual({
      operator: operator.account.address,
      prover,
      effectiveAt: boundAt,
      active: true,
    })
    expect(await bindingNonce(reader, middleware, prover)).toBe(1n)

    // A staker deposits into the instant-slasher vault (approving it first).
    await mintDevToken(asStaker, collateral, staker.account.address, DEPOSIT)
    const deposited = await depositToVault(asStaker, { vault, amount: DEPOSIT })
    expect(deposited.depositedAmount).toBe(DEPOSIT)
    expect(deposited.approval).toBeDefined()
    expect(await getVaultInfo(reader, vault, staker.account.address)).toMatchObject({
      collateral,
      activeStake: DEPOSIT,
      activeBalance: DEPOSIT,
    })
    const tooMuch = await depositToVault(asStaker, { vault, amount: 1n }).catch((e: unknown) => e)
    expect(tooMuch).toMatchObject({ name: 'InsufficientBalance' })

    // The middleware reports the stake at a capture after the deposit, in pages.
    await advanceTime(devnet, 10)
    const capture = await reader.public.getBlock({ blockTag: 'latest' })
    await advanceTime(devnet, 10)
    const stakes = await getMiddlewareStakes(reader, { middleware, timestamp: Number(capture.timestamp), pageSize: 1 })
    expect(stakes).toEqual([
      { operator: operator.account.address, prover, vault, collateral, stake: DEPOSIT },
      expect.objectContaining({ vault: fixture.ethereum.contracts.vetoVault, stake: 0n }),
    ])
    expect(
      await lastBlockAtOrBefore(reader, { target: capture.timestamp, low: 0n, high: capture.number + 1n }),
    ).toEqual({ number: capture.number, timestamp: capture.timestamp })

    // No snapshot yet: nothing to prove against.
    const asProver = actors.prover
    const early = await proveStakeLeaf(asProver, {
      ethereum: reader,
      middleware,
      mirror: fixture.mirror.contracts.stakeMirror,
      vault,
    }).catch((e: unknown) => e)
    expect(early).toBeInstanceOf(StakeProofError)
    expect(early).toMatchObject({ code: 'NoSnapshot' })

    // The snapshot the relayers would commit (here delivered through the mirror's transport seam, by its owner).
    const leaves = await readStakeLeaves(reader, {
      middleware,
      token: collateral,
      captureTimestamp: Number(capture.timestamp),
      blockNumber: capture.number,
      pageSize: 10,
    })
    expect(leaves).toEqual([{ prover, vault, stake: DEPOSIT }])
    const tree = stakeTree(leaves, collateral)
    const slashingWindow = await getSlashingWindow(reader, { middleware, blockNumber: capture.number })
    // The vaults' epoch (the veto vault's epoch less its veto window is the same).
    expect(slashingWindow).toBe(86_400)
    const mirror = { address: fixture.mirror.contracts.stakeMirror, abi: stakeMirrorAbi } as const
    const owner = actors.deployer
    for (const [functionName, args] of [
      ['setSnapshotTransport', [owner.wallet.account.address]],
      [
        'receiveSnapshot',
        [
          {
            epoch: 1n,
            captureTimestamp: Number(capture.timestamp),
            slashingWindow,
            stakeRoot: tree.root,
            totalStake: DEPOSIT,
            leafCount: 1,
          },
        ],
      ],
    ] as const) {
      // biome-ignore lint/suspicious/noExplicitAny: two different functions of one ABI through one loop
      const hash = await owner.wallet.writeContract({ ...mirror, functionName, args } as any)
      expect((await reader.public.waitForTransactionReceipt({ hash })).status).toBe('success')
    }

    const proven = await proveStakeLeaf(asProver, {
      ethereum: reader,
      middleware,
      mirror: mirror.address,
      vault,
      fromBlock: fixture.ethereum.deployBlock,
    })
    expect(proven).toMatchObject({ epoch: 1n, stake: DEPOSIT, counted: DEPOSIT, proof: [] })
    expect(await getMirroredStake(reader, { mirror: mirror.address, prover })).toEqual({
      available: DEPOSIT,
      currentEpoch: 1n,
      // A task locked now may end up to the window less the slash delay after the capture.
      latestDeadline: capture.timestamp + BigInt(slashingWindow - fixture.mirror.slashDelay),
      // The vault's own leaf is that epoch's, so it gives the same deadline.
      vaults: [
        {
          vault,
          epoch: 1n,
          leaf: DEPOSIT,
          floor: DEPOSIT,
          locked: 0n,
          pending: 0n,
          free: DEPOSIT,
          latestDeadline: capture.timestamp + BigInt(slashingWindow - fixture.mirror.slashDelay),
        },
      ],
    })
    expect(fixture.mirror.slashDelay).toBe(3_600)
    expect(await getStakeLock(reader, { mirror: mirror.address, prover, taskId: 1n })).toBeUndefined()
    const twice = await proveStakeLeaf(asProver, { ethereum: reader, middleware, mirror: mirror.address, vault }).catch(
      (e: unknown) => e,
    )
    expect(twice).toMatchObject({ name: 'LeafAlreadyProven', args: { prover, vault } })
    const noLeaf = await proveStakeLeaf(asProver, {
      ethereum: reader,
      middleware,
      mirror: mirror.address,
      vault: fixture.ethereum.contracts.vetoVault,
    }).catch((e: unknown) => e)
    expect(noLeaf).toMatchObject({ name: 'StakeProofError', code: 'NoLeaf' })
    expect(deployment.chainId).toBe(foundry.id)
  })

  it('a curator opts its vault out of and back in to the network; only the vault owner may', async () => {
    const { devnet, fixture } = current()
    const { reader, actors } = devnet
    const { middleware, vault, vetoVault } = fixture.ethereum.contracts
    const curator = actors.deployer
    expect(await getNetworkVaults(reader, middleware)).toEqual([vault, vetoVault])
    const twice = await optInVault(curator, { middleware, vault }).catch((e: unknown) => e)
    expect(twice).toMatchObject({ name: 'VaultAlreadyOptedIn', args: { vault } })
    await optOutVault(curator, { middleware, vault })
    expect(await getNetworkVaults(reader, middleware)).toEqual([vetoVault])
    const stranger = await optInVault(actors.bystander, { middleware, vault }).catch((e: unknown) => e)
    expect(stranger).toMatchObject({ name: 'NotVaultOwner', args: { caller: actors.bystander.wallet.account.address } })
    const back = await optInVault(curator, { middleware, vault })
    expect(back).toMatchObject({ collateral: fixture.ethereum.contracts.collateral, slasherType: 0n })
    expect(await getNetworkVaults(reader, middleware)).toEqual([vetoVault, vault])
  })

  it('the restake CLI: operator registration, opt-ins, a binding signed on two machines, a deposit, the stakes', async () => {
    const { devnet, fixture } = current()
    const { anvil, deployment } = devnet
    const { middleware, vault, collateral } = fixture.ethereum.contracts
    const deploymentFile = join(repoRoot, `deployments/e2e-${anvil.port}.json`)
    const restaking = ['--restaking', join(repoRoot, fixture.files.ethereum)]
    const as = (key: `0x${string}`): NodeJS.ProcessEnv => ({
      CAIRN_RPC_URL: anvil.rpcUrl,
      CAIRN_DEPLOYMENT: deploymentFile,
      CAIRN_PRIVATE_KEY: key,
    })
    const read = { CAIRN_RPC_URL: anvil.rpcUrl }
    const prover = anvilAccount(devRoles.prover)
    expect(deployment.chainId).toBe(foundry.id)

    await cairnJson(['restake', 'register-operator', ...restaking], as(operator.privateKey))
    await cairnJson(['restake', 'opt-in', '--network', ...restaking], as(operator.privateKey))
    expect(
      await cairnJson(['restake', 'opt-in', '--vault', 'vault', ...restaking], as(operator.privateKey)),
    ).toMatchObject({
      operator: operator.account.address,
      optedInTo: vault,
    })
    // The prover signs its half on its own machine and hands it over with the deadline it signed.
    const signed = await cairnJson(
      ['restake', 'sign-binding', '--operator', operator.account.address, '--deadline', '+1h', ...restaking],
      as(prover.privateKey),
    )
    expect(signed).toMatchObject({ operator: operator.account.address, prover: prover.account.address })
    await cairnJson(
      [
        'restake',
        'bind',
        '--prover',
        prover.account.address,
        '--prover-signature',
        signed.signature as string,
        '--deadline',
        signed.deadline as string,
        ...restaking,
      ],
      as(operator.privateKey),
    )
    expect(await cairnJson(['restake', 'binding', '--prover', prover.account.address, ...restaking], read)).toEqual({
      operator: operator.account.address,
      prover: prover.account.address,
      effectiveAt: expect.any(Number),
      effective: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      active: true,
    })

    await mintDevToken(connect(devnet.reader, staker.account), collateral, staker.account.address, DEPOSIT)
    expect(
      await cairnJson(
        ['restake', 'deposit', '--vault', 'vault', '--amount', '1000', ...restaking],
        as(staker.privateKey),
      ),
    ).toMatchObject({ vault, amount: DEPOSIT.toString(), amountFormatted: '1000 rCRN' })
    await advanceTime(devnet, 5)
    const { stakes } = await cairnJson(['restake', 'stakes', '--page-size', '1', ...restaking], read)
    expect(stakes).toEqual([
      {
        operator: operator.account.address,
        prover: prover.account.address,
        vault,
        collateral,
        stake: DEPOSIT.toString(),
        stakeFormatted: '1000 rCRN',
      },
      expect.objectContaining({ vault: fixture.ethereum.contracts.vetoVault, stake: '0' }),
    ])

    // The curator's opt-in of a vault already in the network reverts, decoded; a missing flag is a usage error.
    const again = await startCairn(
      ['restake', 'opt-in', '--curator', '--vault', vault, ...restaking],
      as(anvilAccount(devRoles.deployer).privateKey),
    ).done
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`VaultAlreadyOptedIn(vault=${vault})`)
    const usage = await startCairn(['restake', 'stakes'], { CAIRN_RPC_URL: anvil.rpcUrl, CAIRN_RESTAKING: '' }).done
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('--restaking <path> is required')
    expect(middleware).toBe(fixture.ethereum.contracts.middleware)

    // The mirrored stake, readable: nothing proven yet here.
    const mirrored = await cairnJson(
      [
        'restake',
        'mirrored',
        '--mirror',
        join(repoRoot, fixture.files.marketplace),
        '--prover',
        prover.account.address,
        '--task',
        '7',
      ],
      { ...read, CAIRN_DEPLOYMENT: deploymentFile },
    )
    expect(mirrored).toEqual({
      mirror: fixture.mirror.contracts.stakeMirror,
      prover: prover.account.address,
      epoch: '0',
      available: '0 rCRN',
      latestDeadline: '0',
      vaults: [],
      task: { id: '7', lock: 'none', slash: 'none' },
    })
  }, 180_000) // a dozen CLI processes in a row, each a transaction or a log scan: minutes on a loaded machine
})

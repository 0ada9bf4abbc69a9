// Timing samples summarized the same way by every proving benchmark.

export type Summary = { mean: number; median: number; min: number; max: number }

export function summary(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b)
  const middle = sorted.length / 2
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return {
    mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
    median,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  }
}

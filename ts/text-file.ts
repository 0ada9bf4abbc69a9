import { readFile } from 'node:fs/promises'

/** A UTF-8 file's text; undefined when there is no such file (any other failure to read it is thrown). */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

// Types of compiled.mjs for the TypeScript that imports it (the CLI start-up benchmark).
export declare const root: string
export declare function compiledPathOf(entry: string): string
export declare function freshCompiled(entry: string): string | undefined
export declare function loadEntry(entry: string): Promise<Record<string, unknown>>
export declare function runEntry(entry: string): Promise<Record<string, unknown>>

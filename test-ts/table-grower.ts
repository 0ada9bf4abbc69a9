/**
 * The WAT source of a program that grows each of `tables` externref tables by 10M elements at a time until
 * table.grow fails (V8 caps a table at 10M elements), then returns 0 without output: ~165 MB of V8 heap per table.
 * `maximum` is each table's declared maximum; none by default.
 */
export function tableGrowerWat(tables: number, maximum = ''): string {
  const ids = Array.from({ length: tables }, (_, i) => i)
  return `(module (memory (export "memory") 1 1)
      ${ids.map((i) => `(table $t${i} 0 ${maximum} externref)`).join('\n')}
      (func (export "alloc") (param i32) (result i32) (i32.const 0))
      (func (export "run") (param i32 i32) (result i64)
        ${ids
          .map(
            (i) => `(loop $grow${i}
              (br_if $grow${i} (i32.ne (table.grow $t${i} (ref.null extern) (i32.const 10000000)) (i32.const -1))))`,
          )
          .join('\n')}
        (i64.const 0)))`
}

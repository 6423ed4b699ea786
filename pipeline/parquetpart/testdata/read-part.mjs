// Reads one Parquet part with hyparquet (an independent, pure-JavaScript Parquet reader) and
// prints it as JSON on stdout: {"columns": [{name, type, logical}], "metadata": {key: value},
// "rows": [{column: value}]}. Values are printed losslessly: 64-bit integers and timestamps as
// decimal strings (timestamps and times in microseconds, since 1970 and midnight, as
// stored), dates as days since 1970, uuids as 32 hex digits, byte arrays without a string
// type as {"hex": "..."}, NULL as null. Floats that JSON cannot hold print as the strings
// "NaN", "Infinity", "-Infinity" and "-0".
//
//   NODE_PATH=<repo>/.cache/npm/node_modules node read-part.mjs part.parquet
//
// The packages come from scripts/npm-deps.sh.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import path from 'node:path'

const modules = process.env.NODE_PATH
if (!modules) throw new Error('NODE_PATH must name the node_modules directory of scripts/npm-deps.sh')
const load = async name => {
  const req = createRequire(path.join(modules, 'noop.js'))
  return import(pathToFileURL(req.resolve(name)).href)
}
const { parquetMetadata, parquetReadObjects } = await load('hyparquet')
const { compressors } = await load('hyparquet-compressors')

const buf = readFileSync(process.argv[2])
const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
const metadata = parquetMetadata(file)

const hex = bytes => Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
const plain = v => {
  if (v === null || v === undefined) return null
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return Object.is(v, -0) ? '-0' : String(v)
  if (v instanceof Uint8Array) return { hex: hex(v) }
  return v
}

const rows = await parquetReadObjects({
  file,
  metadata,
  compressors,
  utf8: false, // byte arrays without a string annotation stay bytes
  parsers: {
    timestampFromMilliseconds: v => (BigInt(v) * 1000n).toString(),
    timestampFromMicroseconds: v => BigInt(v).toString(),
    timestampFromNanoseconds: v => (BigInt(v) / 1000n).toString(),
    dateFromDays: v => v,
    stringFromBytes: b => (b === undefined || b === null ? b : new TextDecoder('utf-8', { fatal: true }).decode(b)),
    jsonFromBytes: b => (b === undefined || b === null ? b : new TextDecoder().decode(b)),
    uuidFromBytes: b => (b === undefined || b === null ? b : hex(b)),
  },
})

const out = {
  columns: metadata.schema.slice(1).map(e => ({ name: e.name, type: e.type, logical: e.logical_type ?? null, converted: e.converted_type ?? null })),
  metadata: Object.fromEntries((metadata.key_value_metadata ?? []).filter(kv => kv.key !== 'ARROW:schema').map(kv => [kv.key, kv.value])),
  rows: rows.map(r => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]))),
}
process.stdout.write(JSON.stringify(out, (k, v) => (typeof v === 'bigint' ? v.toString() : v)))

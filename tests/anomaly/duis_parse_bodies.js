// Parse DUIS files with @smartdcc/duis-parser in one node process, printing what it read.
// usage: node duis_parse_bodies.js <node_modules dir> <file>...
// prints one JSON line per file, in order: {"file", "ok", "header", "body", "error"}
'use strict'
const fs = require('fs')
const path = require('path')
const parser = require(path.join(process.argv[2], '@smartdcc/duis-parser'))
const plain = (_k, v) => (typeof v === 'bigint' ? v.toString() : v)

for (const file of process.argv.slice(3)) {
  let line
  try {
    const d = parser.parseDuis('simplified', fs.readFileSync(file))
    line = { file, ok: true, header: d.header, body: d.body, error: null }
  } catch (e) {
    line = { file, ok: false, header: null, body: null, error: String(e) }
  }
  process.stdout.write(JSON.stringify(line, plain) + '\n')
}

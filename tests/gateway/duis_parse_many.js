// Parse many DUIS files with @smartdcc/duis-parser in one node process.
// usage: node duis_parse_many.js <node_modules dir> <file>...
// prints one JSON line per file, in order: {"file", "ok", "type", "code", "requestId", "error"}
'use strict'
const fs = require('fs')
const path = require('path')
const parser = require(path.join(process.argv[2], '@smartdcc/duis-parser'))

for (const file of process.argv.slice(3)) {
  let line
  try {
    const d = parser.parseDuis('simplified', fs.readFileSync(file))
    const h = d.header
    line = {
      file,
      ok: true,
      type: h.type,
      code: h.responseCode === undefined ? null : String(h.responseCode),
      requestId: h.requestId ? String(h.requestId.counter) : null,
      error: null,
    }
  } catch (e) {
    line = { file, ok: false, type: null, code: null, requestId: null, error: String(e) }
  }
  process.stdout.write(JSON.stringify(line) + '\n')
}

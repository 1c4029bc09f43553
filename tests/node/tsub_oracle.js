// Answers destination-filter cases with @segment/tsub itself: the oracle of
// tests/test_filters_differential.py. Reads one JSON case per line on stdin, writes one
// JSON answer per line on stdout, in order:
//   {"kind": "match", "event", "matcher"}                          -> {"ok": true|false}
//   {"kind": "transform", "event", "transformers", "random": [..]}  -> {"ok": "<JSON.stringify(result)>" | null, "draws": n}
//   {"kind": "rules", "event", "rules", "destination", "random"}    -> the same as transform
// or {"error": "<what tsub threw>"} (with "draws" for the last two). Math.random returns the
// case's "random" values in turn, so sampling without a path is reproducible.
'use strict'

const fs = require('fs')

let tsub
try {
  tsub = require('@segment/tsub')
} catch (error) {
  process.stderr.write('@segment/tsub is not installed in tests/node/node_modules: run ./dev test (it installs it)\n')
  process.exit(3)
}

let draws = []
let used = 0
Math.random = () => {
  if (used >= draws.length) throw new Error('oracle: the case ran out of random draws')
  return draws[used++]
}

// What analytics.js does with a destination's rules (and analytics-swift-live's
// evaluateDestinationFilters): matcher i holds -> transformers[i] runs; a null ends it.
function applyRules(event, rules, destination) {
  let payload = event
  for (const rule of new tsub.Store(rules).getRulesByDestinationName(destination)) {
    const { matchers, transformers } = rule
    for (let i = 0; i < matchers.length; i++) {
      if (tsub.matches(payload, matchers[i])) {
        payload = tsub.transform(payload, transformers[i])
        if (payload === null) return null
      }
    }
  }
  return payload
}

function answer(c) {
  draws = c.random || []
  used = 0
  try {
    if (c.kind === 'match') return { ok: tsub.matches(c.event, c.matcher) }
    const result = c.kind === 'rules'
      ? applyRules(c.event, c.rules, c.destination)
      : tsub.transform(c.event, c.transformers)
    return { ok: result === null ? null : JSON.stringify(result), draws: used }
  } catch (error) {
    const reply = { error: String(error && error.message) }
    if (c.kind !== 'match') reply.draws = used
    return reply
  }
}

const lines = fs.readFileSync(0, 'utf8').split('\n').filter((line) => line !== '')
const out = lines.map((line) => JSON.stringify(answer(JSON.parse(line))))
process.stdout.write(out.join('\n') + '\n')

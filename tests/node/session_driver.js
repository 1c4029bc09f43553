// The phone-session scenario (tests/benchmarks/session.py) on Statsig's real JS client
// (@statsig/js-client at its defaults; loggingEnabled 'always', as outside a browser it
// would log nothing) against the benchmark's loopback sink. Prints one JSON line: when
// it started, when each event was made, and its CPU after start-up.
//
//   node session_driver.js '{"url": "http://127.0.0.1:PORT/v1", "key": "client-…",
//        "scale": 1.0, "times": [seconds, ...], "background_at": 150, "end_at": 180}'
'use strict';

const config = JSON.parse(process.argv[2]);

// No request may leave loopback (as statsig_client_driver.js): anything else is refused.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') {
    return Promise.reject(new Error(`refused a request off loopback: ${url.split('?')[0]}`));
  }
  return realFetch(input, init);
};

const { StatsigClient } = require('@statsig/js-client');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function main() {
  const t0 = Date.now() / 1000;
  const start = performance.now();
  const at = (seconds) => sleep(start + seconds * config.scale * 1000 - performance.now());
  const client = new StatsigClient(config.key, { userID: 'session-user' }, {
    networkConfig: { api: config.url, sdkExceptionUrl: `${config.url}/sdk_exception` },
    loggingEnabled: 'always',
  });
  const cpu0 = process.cpuUsage();
  await client.initializeAsync();
  client.checkGate('launch_gate');
  const made = {};
  for (let i = 0; i < config.times.length; i += 1) {
    await at(config.times[i]);
    made[i] = Date.now() / 1000;
    client.logEvent('Bench Event', undefined, { i: String(i), plan: 'pro' });
  }
  await at(config.background_at);
  client.flush(); // what a browser's client does when the page is hidden
  await at(config.end_at);
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`RESULT ${JSON.stringify({ ok: true, t0, made, cpu_s: (cpu.user + cpu.system) / 1e6 })}\n`);
  process.exit(0);
}

main().catch((e) => {
  process.stdout.write(`RESULT ${JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e) })}\n`);
  process.exit(1);
});

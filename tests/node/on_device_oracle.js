// Statsig's JS on-device evaluator (@statsig/js-on-device-eval-client, installed by ./dev
// into tests/node/node_modules, never copied) as an oracle: config specs and users in, the
// initialize reply it builds for each user out. tests/test_on_device_differential.py runs it.
//
//   node on_device_oracle.js < {"specs": "<config specs JSON text>", "users": [{...}, ...], "hash": "none"}
//   stdout: one JSON array, the reply for each user in order
//
// Offline: network traffic prevented, logging and storage disabled, no background refresh;
// fetch is replaced so that any request would fail loudly instead of leaving the machine.
'use strict';

globalThis.fetch = (input) => Promise.reject(new Error(`on_device_oracle: no network (${String(input)})`));

const { StatsigOnDeviceEvalClient } = require('@statsig/js-on-device-eval-client');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const job = JSON.parse(input);
  const client = new StatsigOnDeviceEvalClient('client-oracle', {
    networkConfig: { preventAllNetworkTraffic: true },
    disableLogging: true,
    disableStorage: true,
    logLevel: 0,
  });
  client.dataAdapter.setData(job.specs);
  client.initializeSync({ disableBackgroundCacheRefresh: true });
  const replies = job.users.map((user) => client.getClientInitializeResponse(user, { hash: job.hash || 'none' }));
  require('fs').writeSync(1, JSON.stringify(replies)); // whole, before exit (a pipe write is async)
  process.exit(0); // the client's timers would keep node alive
});

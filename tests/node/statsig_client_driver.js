// Drives Statsig's real JS client (@statsig/js-client, installed by ./dev into
// tests/node/node_modules, never copied) against a fake Statsig on loopback, and prints
// what it saw as one JSON line. tests/test_statsig_js_client.py runs it.
//
//   node statsig_client_driver.js '{"url": "http://127.0.0.1:PORT/v1", "key": "client-…",
//        "mode": "plain" | "compressed" | "browser", "user": {...}, "other_user": {...},
//        "gates": [...], "experiment": [name, param], "config": [name, param],
//        "layer": [name, param], "events": [[name, value, metadata], ...]}'
//   with "check_while_loading": true, a gate checked during a user change instead.
//
// No request may leave loopback: global fetch is wrapped, and any other URL is refused
// (the request is never made) and reported in "refused".
'use strict';

const config = JSON.parse(process.argv[2]);

// -- the network guard: before the client loads, so every fetch it makes goes through it --
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const realFetch = globalThis.fetch;
const refused = [];
const sent = [];
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch (e) {
    host = '';
  }
  if (!LOOPBACK.has(host) && !host.startsWith('127.')) {
    refused.push(url.split('?')[0]);
    return Promise.reject(new Error(`driver refused a request off loopback: ${url.split('?')[0]}`));
  }
  sent.push(url.split('?')[0]);
  return realFetch(input, init);
};

if (globalThis.navigator && typeof globalThis.navigator.sendBeacon === 'function') {
  globalThis.navigator.sendBeacon = (url) => {
    refused.push(`beacon ${String(url).split('?')[0]}`);
    return false;
  };
}

// -- browser mode: a global window.btoa makes the client statsig-encode initialize ---------
if (config.mode === 'browser') {
  globalThis.window = { btoa: (text) => globalThis.btoa(text) };
}

const { StatsigClient } = require('@statsig/js-client');

function options() {
  const networkConfig = {
    api: config.url,                                  // initialize and rgstr
    sdkExceptionUrl: `${config.url}/sdk_exception`,   // defaults to statsigapi.net
    networkTimeoutMs: 5000,
  };
  const opts = { networkConfig, loggingEnabled: 'always', logLevel: 1 };
  if (config.mode === 'compressed') {
    opts.logEventCompressionMode = 'f'; // LogEventCompressionMode.Forced: gzip even through a proxy
  }
  return opts;
}

// The guard's own check: the client with Statsig's default endpoints. Every request it
// tries must be refused here, never sent; report them and stop.
async function probeTheGuard() {
  const client = new StatsigClient(config.key, config.user, { loggingEnabled: 'always', logLevel: 0 });
  await client.initializeAsync({ timeoutMs: 300 });
  process.stdout.write(JSON.stringify({ refused, sent }) + '\n');
  process.exit(0);
}

// A check right after a user change, before the new user's values arrive (the fake holds
// the second initialize until the driver has checked): what the check answers and which
// exposures the client logs for it and, once the values are in, for the same check again.
async function checkWhileLoading() {
  const client = new StatsigClient(config.key, config.user, options());
  const flushed = [];
  client.on('logs_flushed', (e) => e.events.forEach((event) => flushed.push(
    { eventName: event.eventName, userID: event.user && event.user.userID, metadata: event.metadata })));
  await client.initializeAsync();
  const name = config.gates[0];
  const updating = client.updateUserAsync(config.other_user);
  const loading = client.getFeatureGate(name);
  const out = { loading: { value: loading.value, reason: loading.details.reason } };
  await updating;
  const loaded = client.getFeatureGate(name);
  out.loaded = { value: loaded.value, reason: loaded.details.reason };
  await client.flush();
  await client.shutdown();
  out.flushed = flushed;
  out.refused = refused;
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function main() {
  if (config.probe_the_guard) {
    return probeTheGuard();
  }
  if (config.check_while_loading) {
    return checkWhileLoading();
  }
  const out = { mode: config.mode, node: process.version };
  const client = new StatsigClient(config.key, config.user, options());
  const errors = [];
  const flushed = [];
  client.on('error', (e) => errors.push(String(e.error && e.error.message ? e.error.message : e.error)));
  client.on('logs_flushed', (e) => e.events.forEach((event) => flushed.push(event.eventName)));
  const init = await client.initializeAsync();
  out.initialize = { success: init.success, source: init.source, error: init.error ? String(init.error) : null };

  const reasons = new Set();
  out.gates = {};
  for (const name of config.gates) {
    const gate = client.getFeatureGate(name);
    out.gates[name] = gate.value;
    reasons.add(gate.details.reason);
  }
  const [expName, expParam] = config.experiment;
  const experiment = client.getExperiment(expName);
  out.experiment = { group: experiment.groupName, value: experiment.get(expParam, null) };
  reasons.add(experiment.details.reason);
  const [configName, configParam] = config.config;
  const dynamicConfig = client.getDynamicConfig(configName);
  out.config = dynamicConfig.get(configParam, null);
  reasons.add(dynamicConfig.details.reason);
  const [layerName, layerParam] = config.layer;
  const layer = client.getLayer(layerName);
  out.layer = layer.get(layerParam, null);
  reasons.add(layer.details.reason);
  out.reasons = Array.from(reasons);

  for (const [name, value, metadata] of config.events) {
    client.logEvent(name, value === null ? undefined : value, metadata);
  }

  // Values again for another user, then for the first: the client asks with its cache
  // (sinceTime, deltasResponseRequested) and must take the fake's full reply.
  // The client flushes at each user change without waiting, and 3.33.5's flush() and
  // shutdown() can resolve while that flush is still compressing: flush first, and wait.
  await client.flush();
  const other = await client.updateUserAsync(config.other_user);
  out.other_user = { success: other.success, source: other.source };
  await client.flush();
  const back = await client.updateUserAsync(config.user);
  out.back = { success: back.success, source: back.source, gate: client.checkGate(config.gates[0]) };

  await client.flush();
  await client.shutdown();
  out.flushed = flushed;
  out.errors = errors;
  out.refused = refused;
  out.sent = sent;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ crashed: String(e && e.stack ? e.stack : e), refused }) + '\n');
  process.exit(1);
});

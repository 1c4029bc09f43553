#!/usr/bin/env node
// A second implementation of Segment's Statsig destination in device mode, on Statsig's
// own JS client (@statsig/js-client), speaking the conformance harness's cmd: protocol:
//
//   python -m segment_statsig.testing verify \
//       --adapter "cmd:node examples/adapters/statsig-js/adapter.js" recordings/
//
// stdin: {"setup": {...}}, then one {"method", "args"} per Segment call, then
// {"method": "shutdown"}; it delivers everything and exits 0 (see docs/CONFORMANCE.md).
//
// Segment calls -> Statsig's client: track/screen/page -> logEvent("segment_track:<event>",
// value, metadata); identify/alias/reset -> updateUserSync (before values are needed) or
// updateUserAsync (after); check_gate -> checkGate; get_config/get_experiment/get_layer ->
// getDynamicConfig/getExperiment/getLayer(...).get(key, default); flush/on_background ->
// flush(); shutdown -> shutdown(). The Segment side (anonymousId, traits, lifecycle events,
// integrations filter, settings from the CDN, the cloud leg) is the small part below.
//
// Where Statsig's client comes from: SEGMENT_STATSIG_NODE_MODULES (a node_modules folder
// holding @statsig/js-client), else this repository's tests/node/node_modules (what ./dev
// installs), else node's own resolution (npm install @statsig/js-client next to this file).
// STATSIG_JS_BROWSER=0 turns off the browser form (window.btoa: initialize statsig encoded,
// se=1); STATSIG_JS_COMPRESSION=d|e|f is the client's logEventCompressionMode (default f:
// gzip every rgstr body, gz=1). The harness must pass whichever form is used.
'use strict';

const crypto = require('crypto');
const path = require('path');
const mapping = require('./mapping');

// -- nothing leaves loopback: the harness's fakes are all there ------------------------------
const refused = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = String(typeof input === 'string' ? input : input.url);
  const host = (() => { try { return new URL(url).hostname; } catch (e) { return ''; } })();
  if (!(host === 'localhost' || host.startsWith('127.') || host === '[::1]')) {
    refused.push(url.split('?')[0]);
    return Promise.reject(new Error(`adapter refused a request off loopback: ${url.split('?')[0]}`));
  }
  return realFetch(input, init);
};
if (process.env.STATSIG_JS_BROWSER !== '0') {
  globalThis.window = { btoa: (text) => globalThis.btoa(text) }; // the client's browser path
}

function loadStatsig() {
  const dirs = [process.env.SEGMENT_STATSIG_NODE_MODULES,
    path.join(__dirname, '..', '..', '..', 'tests', 'node', 'node_modules')].filter(Boolean);
  for (const dir of dirs) {
    try {
      return require(require.resolve('@statsig/js-client', { paths: [dir] }));
    } catch (e) {
      // next place
    }
  }
  return require('@statsig/js-client');
}
const { StatsigClient } = loadStatsig();

const QUICK_FLUSH_WINDOW_MS = 200; // the client flushes its first event this soon after start
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Destination {
  constructor(setup) {
    this.setup = setup;
    const analytics = (setup.options || {}).analytics || {};
    this.appInfo = analytics.app_info || null;
    this.lifecycle = analytics.track_lifecycle_events === true;
    this.context = { ...(setup.context || {}), ...(this.appInfo ? { app: this.appInfo } : {}) };
    this.anonymousId = crypto.randomUUID();
    this.userId = null;
    this.traits = {};
    this.client = null;
    this.valuesStarted = false;
    this.pending = Promise.resolve();
    this.cloud = [];
  }

  user() {
    return mapping.statsigUser({ userId: this.userId, anonymousId: this.anonymousId, traits: this.traits,
      context: this.context });
  }

  async start() {
    this.settings = this.setup.settings || await this.fetchSettings();
    const statsig = ((this.settings || {}).integrations || {}).Statsig || {};
    if (!statsig.apiKey) return;
    const destination = (this.setup.options || {}).destination || {};
    const url = this.setup.statsig_url;
    const options = {
      networkConfig: { api: url, sdkExceptionUrl: `${url}/sdk_exception` },
      loggingEnabled: 'always', // node is a "server environment": log anyway
      logLevel: Number(process.env.STATSIG_JS_LOG_LEVEL || 0), // 0 none ... 4 debug
      logEventCompressionMode: process.env.STATSIG_JS_COMPRESSION || 'f',
      loggingBufferMaxSize: destination.max_batch_size || 100,
    };
    this.client = new StatsigClient(statsig.apiKey, this.user(), options);
    this.client.initializeSync({ disableBackgroundCacheRefresh: true }); // no values fetched yet
    await sleep(QUICK_FLUSH_WINDOW_MS + 20); // so batches follow the case's flush calls
    if (this.lifecycle) {
      const { version, build } = this.appInfo || {};
      this.track({ event: 'Application Installed', properties: { version, build } });
      this.track({ event: 'Application Opened', properties: { from_background: false, version, build } });
    }
  }

  async fetchSettings() {
    if (!this.setup.write_key) return null;
    const res = await fetch(`${this.setup.cdn_url}/v1/projects/${this.setup.write_key}/settings`);
    return res.ok ? res.json() : null;
  }

  // -- Segment calls ------------------------------------------------------------------------
  track(args) {
    this.send('track', args.event, null, args);
  }

  screen(args) {
    this.send('screen', args.name, args.category, args);
  }

  page(args) {
    this.send('page', args.name, args.category, args);
  }

  send(type, name, category, args) {
    const properties = mapping.decodeValues(args.properties || {});
    this.cloudEvent({ type, event: type === 'track' ? name : undefined, name: type === 'track' ? undefined : name,
      properties }, args);
    if (!this.client || !mapping.sendsToStatsig(args.integrations)) return;
    this.client.logEvent(mapping.eventName(type, name), mapping.eventValue(properties),
      mapping.eventMetadata(properties, category));
  }

  async identify(args) {
    if (args.userId !== undefined && args.userId !== null) this.userId = args.userId;
    this.traits = { ...this.traits, ...mapping.decodeValues(args.traits || {}) };
    this.cloudEvent({ type: 'identify', traits: args.traits || {} }, args);
    await this.userChanged();
  }

  async alias(args) {
    this.userId = args.userId;
    this.cloudEvent({ type: 'alias' }, args);
    await this.userChanged();
  }

  group(args) {
    this.cloudEvent({ type: 'group', groupId: args.groupId, traits: args.traits || {} }, args);
  }

  async reset() {
    this.userId = null;
    this.traits = {};
    this.anonymousId = crypto.randomUUID();
    await this.userChanged();
  }

  // The client flushes at every user change, without waiting; its flush() and shutdown()
  // may then resolve while that flush is still compressing its body (3.33.5), and an exit
  // right after loses those events. So the adapter makes that flush itself, and waits.
  async userChanged() {
    if (!this.client) return;
    await this.client.flush();
    if (this.valuesStarted) {
      this.pending = this.client.updateUserAsync(this.user()); // values follow the user
    } else {
      this.client.updateUserSync(this.user(), { disableBackgroundCacheRefresh: true });
    }
  }

  startValues() {
    if (this.client && !this.valuesStarted) {
      this.valuesStarted = true;
      this.pending = this.client.updateUserAsync(this.user());
    }
  }

  async wait_for_values() {
    this.startValues();
    await this.pending;
  }

  check_gate(args) {
    this.startValues();
    if (this.client) this.client.checkGate(args.name);
  }

  readValue(getter, args) {
    this.startValues();
    if (!this.client) return;
    const result = this.client[getter](args.name);
    if ('key' in args) result.get(args.key, args.default === undefined ? null : args.default);
  }

  get_config(args) { this.readValue('getDynamicConfig', args); }

  get_experiment(args) { this.readValue('getExperiment', args); }

  get_layer(args) { this.readValue('getLayer', args); }

  async flush() {
    if (this.client) await this.client.flush();
    await this.flushCloud();
  }

  async on_background() {
    if (this.lifecycle) this.track({ event: 'Application Backgrounded', properties: {} });
    await this.flush();
  }

  on_foreground() {
    if (this.lifecycle) this.track({ event: 'Application Foregrounded', properties: { from_background: true } });
  }

  async shutdown() {
    if (this.client) await this.client.shutdown();
    await this.flushCloud();
  }

  // -- the cloud leg: Segment gets every call, marked so it does not send them to Statsig again
  cloudEvent(fields, args) {
    const writeKey = (((this.settings || {}).integrations || {})['Segment.io'] || {}).apiKey;
    if (!writeKey || !this.setup.segment_api_url) return;
    this.cloud.push({
      ...fields, ...(this.userId !== null ? { userId: this.userId } : {}), anonymousId: this.anonymousId,
      messageId: crypto.randomUUID(),
      timestamp: args.timestamp || new Date().toISOString(), context: { ...this.context, ...(args.context || {}) },
      integrations: { ...(args.integrations || {}), Statsig: false },
      _metadata: { bundled: this.client ? ['Statsig'] : [], unbundled: [] },
    });
  }

  async flushCloud() {
    if (this.cloud.length === 0) return;
    const writeKey = this.settings.integrations['Segment.io'].apiKey;
    const batch = this.cloud.splice(0);
    await fetch(`${this.setup.segment_api_url}/v1/batch`, {
      method: 'POST', body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
      headers: { 'Content-Type': 'application/json',
        Authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` },
    });
  }
}

const CALLS = new Set(['track', 'screen', 'page', 'identify', 'group', 'alias', 'reset', 'flush', 'on_background',
  'on_foreground', 'check_gate', 'get_config', 'get_experiment', 'get_layer', 'wait_for_values', 'shutdown']);

async function readLines() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

async function main() {
  const messages = await readLines();
  const setup = (messages.find((m) => m.setup) || {}).setup;
  if (!setup) throw new Error('no setup line');
  const destination = new Destination(setup);
  await destination.start();
  for (const { method, args } of messages.filter((m) => m.method)) {
    if (!CALLS.has(method)) {
      throw new Error(`unknown call ${method}`);
    }
    await destination[method](args || {});
    if (method === 'shutdown') break;
  }
  if (refused.length > 0) {
    throw new Error(`requests off loopback were refused: ${refused.join(', ')}`);
  }
}

main().then(() => process.exit(0), (error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

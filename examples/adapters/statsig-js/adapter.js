#!/usr/bin/env node
// A second implementation of Segment's Statsig destination in device mode, on Statsig's
// own JS client (@statsig/js-client), speaking the conformance harness's cmd: protocol:
//
//   python -m segment_statsig.testing verify \
//       --adapter "cmd:node examples/adapters/statsig-js/adapter.js" recordings/
//
// stdin: {"setup": {...}}, then one {"method", "args"} per Segment call, then
// {"method": "shutdown"}; it delivers everything and exits 0 (see docs/CONFORMANCE.md).
// It declares its capabilities on stdout at setup ({"capabilities": [...]}): not
// event-timestamp (logEvent stamps Date.now()), flush-policy (the client flushes when its
// buffer fills and at every user change), purge (the client cannot erase its queue) or
// on-device-eval (this client reads what Statsig's servers evaluated).
//
// Segment calls -> Statsig's client: track/screen/page -> logEvent("segment_track:<event>",
// value, metadata); identify/alias/reset -> updateUserSync (before values are needed) or
// updateUserAsync (after); check_gate -> checkGate; get_config/get_experiment/get_layer ->
// getDynamicConfig/getExperiment/getLayer(...).get(key, default), get_parameter_store ->
// getParameterStore(name).get(key, default), each with disableExposureLog for log_exposure
// false; log_*_exposure -> the same read with exposures on (the client has no manual exposure
// call); override_* / remove_*_override -> @statsig/js-local-overrides' LocalOverrideAdapter
// (the client's overrideAdapter); bootstrap -> dataAdapter.setDataLegacy(values, user) +
// updateUserSync; flush/on_background -> flush(); shutdown -> shutdown(). The Segment side (anonymousId, traits, lifecycle events,
// integrations filter, settings from the CDN, the cloud leg) is the small part below, with
// the privacy calls Statsig's client has nothing for (privacy.js): destination filters by
// Segment's own @segment/tsub on Statsig's copy of each event; consent (consent_start,
// consent_changed: events held until start, stamped, blocked per the settings' categories);
// opt-out (set_enabled: calls ignored); purge (the adapter's own queues only: the client
// has no call that erases its queue, so what it holds still goes out).
//
// Where Statsig's client and tsub come from: SEGMENT_STATSIG_NODE_MODULES (a node_modules
// folder holding @statsig/js-client and @segment/tsub), else this repository's
// tests/node/node_modules (what ./dev installs), else node's own resolution (npm install
// @statsig/js-client @segment/tsub next to this file). tsub is loaded only for settings
// with routing rules.
// STATSIG_JS_BROWSER=0 turns off the browser form (window.btoa: initialize statsig encoded,
// se=1); STATSIG_JS_COMPRESSION=d|e|f is the client's logEventCompressionMode (default f:
// gzip every rgstr body, gz=1). The harness must pass whichever form is used.
'use strict';

const crypto = require('crypto');
const path = require('path');
const mapping = require('./mapping');
const privacy = require('./privacy');

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

// Statsig's client and Segment's tsub: from SEGMENT_STATSIG_NODE_MODULES, else this
// repository's tests/node/node_modules (what ./dev installs), else node's own resolution.
function loadPackage(name) {
  const dirs = [process.env.SEGMENT_STATSIG_NODE_MODULES,
    path.join(__dirname, '..', '..', '..', 'tests', 'node', 'node_modules')].filter(Boolean);
  for (const dir of dirs) {
    try {
      return require(require.resolve(name, { paths: [dir] }));
    } catch (e) {
      // next place
    }
  }
  return require(name);
}
const { StatsigClient } = loadPackage('@statsig/js-client');
// Local overrides are the client's override adapter, a package of their own: without it
// installed, the adapter does not declare 'overrides'.
const localOverrides = (() => {
  try { return loadPackage('@statsig/js-local-overrides'); } catch (e) { return null; }
})();

// What this implementation can do of what a case may require (docs/CONFORMANCE.md, "Capabilities").
// Not on-device-eval: @statsig/js-client reads what Statsig's servers evaluated (initialize);
// evaluating config specs is another client's (@statsig/js-on-device-eval-client).
const CAPABILITIES = ['gates', 'consent', 'filters', 'bootstrap', 'param-stores',
  ...(localOverrides ? ['overrides'] : [])];
const OVERRIDE_SETTERS = { gate: 'overrideGate', config: 'overrideDynamicConfig',
  experiment: 'overrideExperiment', layer: 'overrideLayer', parameter_store: 'overrideParamStore' };
const OVERRIDE_REMOVERS = { gate: 'removeGateOverride', config: 'removeDynamicConfigOverride',
  experiment: 'removeExperimentOverride', layer: 'removeLayerOverride',
  parameter_store: 'removeParamStoreOverride' };
const QUICK_FLUSH_WINDOW_MS = 200; // the client flushes its first event this soon after start
const DESTINATION = 'Statsig'; // the destination's name in Segment's settings and filters
const LIFECYCLE_DEFAULT = ['Application Installed', 'Application Updated', 'Application Opened',
  'Application Backgrounded'];
// a value call's "log_exposure": false is the client's disableExposureLog
const exposureOption = (args) => (args.log_exposure === false ? { disableExposureLog: true } : undefined);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const warn = (text) => process.stderr.write(`adapter: ${text}\n`);

class Destination {
  constructor(setup) {
    this.setup = setup;
    const options = setup.options || {};
    const analytics = options.analytics || {};
    this.appInfo = analytics.app_info || null;
    // Segment's lifecycle events: true tracks Installed/Updated, Opened, Backgrounded; a list
    // names those to track (Application Foregrounded only so, as analytics-swift has it)
    const lifecycle = analytics.track_lifecycle_events;
    this.lifecycle = new Set(lifecycle === true ? LIFECYCLE_DEFAULT : (Array.isArray(lifecycle) ? lifecycle : []));
    this.inBackground = false;
    this.context = { ...(setup.context || {}), ...(this.appInfo ? { app: this.appInfo } : {}) };
    // the Segment identity, as of each call
    this.anonymousId = crypto.randomUUID();
    this.userId = null;
    this.traits = {};
    // privacy: opt-out, consent (only with options.consent: a consent platform), filters
    this.enabled = true;
    this.consent = options.consent ? new privacy.Consent(options.consent.categories) : null;
    this.filter = null;
    // the Statsig side: the client, the traits its identify events brought, its user
    this.client = null;
    this.statsigTraits = {};
    this.clientUser = null;
    this.valuesStarted = false;
    this.pending = Promise.resolve();
    this.overrides = localOverrides ? new localOverrides.LocalOverrideAdapter() : null;
    this.bootstraps = {}; // userID -> values bootstrapped for that user's next switch
    this.cloud = [];
  }

  userOf(event) {
    return mapping.statsigUser({ userId: event.userId === undefined ? null : event.userId,
      anonymousId: event.anonymousId, traits: this.statsigTraits, context: this.context });
  }

  async start() {
    this.settings = this.setup.settings || await this.fetchSettings();
    if (this.consent) this.consent.state = privacy.consentState(this.settings);
    const statsig = ((this.settings || {}).integrations || {}).Statsig || {};
    if (!statsig.apiKey) return;
    const rules = privacy.routingRules(this.settings);
    if (rules.length > 0) this.filter = privacy.destinationFilter(loadPackage('@segment/tsub'), rules, DESTINATION);
    const destination = (this.setup.options || {}).destination || {};
    const url = this.setup.statsig_url;
    const options = {
      networkConfig: { api: url, sdkExceptionUrl: `${url}/sdk_exception` },
      loggingEnabled: 'always', // node is a "server environment": log anyway
      logLevel: Number(process.env.STATSIG_JS_LOG_LEVEL || 0), // 0 none ... 4 debug
      logEventCompressionMode: process.env.STATSIG_JS_COMPRESSION || 'f',
      loggingBufferMaxSize: destination.max_batch_size || 100,
      // an override set after a check counts from the next check (the memo would keep the
      // earlier answer until the next values update)
      disableEvaluationMemoization: true,
      ...(this.overrides ? { overrideAdapter: this.overrides } : {}),
    };
    this.clientUser = this.userOf({ anonymousId: this.anonymousId });
    this.client = new StatsigClient(statsig.apiKey, this.clientUser, options);
    this.client.initializeSync({ disableBackgroundCacheRefresh: true }); // no values fetched yet
    await sleep(QUICK_FLUSH_WINDOW_MS + 20); // so batches follow the case's flush calls
    // (a fresh storage each case: the app's first launch, so Installed rather than Updated)
    await this.lifecycleEvent('Application Installed', this.appVersion());
    await this.lifecycleEvent('Application Opened', { from_background: false, ...this.appVersion() });
  }

  appVersion() {
    const { version, build } = this.appInfo || {};
    return { version, build };
  }

  async lifecycleEvent(name, properties) {
    if (this.lifecycle.has(name)) await this.track({ event: name, properties });
  }

  async fetchSettings() {
    if (!this.setup.write_key) return null;
    const res = await fetch(`${this.setup.cdn_url}/v1/projects/${this.setup.write_key}/settings`);
    return res.ok ? res.json() : null;
  }

  // -- Segment calls: each makes a Segment event, as of the identity of its moment ------------
  // Opted out (set_enabled false), a call changes nothing and sends nothing.
  async track(args) {
    if (!this.enabled) return;
    await this.dispatch(this.segmentEvent('track', { event: args.event,
      properties: mapping.decodeValues(args.properties || {}) }, args));
  }

  async screen(args) { await this.screenOrPage('screen', args); }

  async page(args) { await this.screenOrPage('page', args); }

  async screenOrPage(type, args) {
    if (!this.enabled) return;
    const fields = { name: args.name, properties: mapping.decodeValues(args.properties || {}) };
    if (typeof args.category === 'string') fields.category = args.category;
    await this.dispatch(this.segmentEvent(type, fields, args));
  }

  async identify(args) {
    if (!this.enabled) return;
    if (args.userId !== undefined && args.userId !== null) this.userId = args.userId;
    const traits = mapping.decodeValues(args.traits || {});
    this.traits = { ...this.traits, ...traits };
    await this.dispatch(this.segmentEvent('identify', { traits }, args));
  }

  async alias(args) {
    if (!this.enabled) return;
    this.userId = args.userId;
    await this.dispatch(this.segmentEvent('alias', {}, args));
  }

  async group(args) {
    if (!this.enabled) return;
    await this.dispatch(this.segmentEvent('group', { groupId: args.groupId,
      traits: mapping.decodeValues(args.traits || {}) }, args));
  }

  async reset() {
    if (!this.enabled) return;
    this.userId = null;
    this.traits = {};
    this.anonymousId = crypto.randomUUID();
    await this.dispatch({ type: 'reset', anonymousId: this.anonymousId }); // no Segment event: in call order
  }

  segmentEvent(type, fields, args) {
    const event = {
      type, ...fields, ...(this.userId !== null ? { userId: this.userId } : {}), anonymousId: this.anonymousId,
      messageId: crypto.randomUUID(), timestamp: args.timestamp || new Date().toISOString(),
      context: { ...this.context, ...(args.context || {}) }, integrations: { ...(args.integrations || {}) },
    };
    // the call's own enrichment ({field: {key: value}}, merged into that field), as the app's
    // code would change the event before handing it on
    for (const [field, values] of Object.entries(args.enrichment || {})) {
      event[field] = { ...(event[field] || {}), ...mapping.decodeValues(values) };
    }
    return event;
  }

  // Every event to every destination: held until the consent platform starts, stamped with
  // the user's choice, then the cloud leg and Statsig's copy, each through its own blocker.
  async dispatch(event) {
    if (this.consent && !this.consent.started) {
      this.consent.held.push(event);
      return;
    }
    if (event.type === 'reset') {
      await this.statsigReset(event);
      return;
    }
    const stamped = this.consent ? this.consent.stamp(event) : event;
    this.cloudEvent(stamped);
    await this.statsigEvent(stamped);
  }

  // Statsig's copy: the integrations option, consent, then the destination's filters (tsub),
  // then the mapping onto the client.
  async statsigEvent(event) {
    if (!this.client || !mapping.sendsToStatsig(event.integrations)) return;
    if (this.consent && !privacy.deviceAllows(this.consent.state, DESTINATION, event)) return;
    let copy = event;
    if (this.filter) {
      try {
        copy = this.filter(event);
      } catch (error) { // a rule tsub throws on: this event is set aside for Statsig, not sent unfiltered
        warn(`a destination filter failed on ${event.type} ${event.event || event.name || ''}: ${error}`);
        return;
      }
      if (copy === null) return;
    }
    const properties = copy.properties && typeof copy.properties === 'object' ? copy.properties : {};
    if (copy.type === 'track' || copy.type === 'screen' || copy.type === 'page') {
      await this.userFollows(copy);
      this.client.logEvent(mapping.eventName(copy.type, copy.type === 'track' ? copy.event : copy.name),
        mapping.eventValue(properties), mapping.eventMetadata(properties, copy.category));
    } else if (copy.type === 'identify') {
      this.statsigTraits = { ...this.statsigTraits, ...(copy.traits || {}) };
      await this.userChanged(this.userOf(copy));
    } else if (copy.type === 'alias') {
      await this.userChanged(this.userOf(copy));
    }
  }

  async statsigReset(event) {
    this.statsigTraits = {};
    if (this.client) await this.userChanged(this.userOf(event));
  }

  // logEvent attaches the client's one current user: an event of another identity (its
  // identify kept from Statsig by consent or a filter) changes it first.
  async userFollows(event) {
    const user = this.userOf(event);
    if (JSON.stringify(user) !== JSON.stringify(this.clientUser)) await this.userChanged(user);
  }

  // The client flushes at every user change, without waiting; its flush() and shutdown()
  // may then resolve while that flush is still compressing its body (3.33.5), and an exit
  // right after loses those events. So the adapter makes that flush itself, and waits.
  async userChanged(user) {
    await this.client.flush();
    this.clientUser = user;
    const bootstrapped = this.bootstraps[user.userID];
    if (bootstrapped) { // values the app's server made for this user: no initialize
      delete this.bootstraps[user.userID];
      this.useBootstrap(bootstrapped, user);
    } else if (this.valuesStarted) {
      this.pending = this.client.updateUserAsync(user); // values follow the user
    } else {
      this.client.updateUserSync(user, { disableBackgroundCacheRefresh: true });
    }
  }

  startValues() {
    if (this.client && !this.valuesStarted) {
      this.valuesStarted = true;
      this.pending = this.client.updateUserAsync(this.clientUser);
    }
  }

  // -- value calls (opted out: not asked, so no exposure is logged) ---------------------------
  async wait_for_values() {
    if (!this.enabled) return;
    this.startValues();
    await this.pending;
  }

  check_gate(args) {
    if (!this.enabled) return;
    this.startValues();
    if (this.client) this.client.checkGate(args.name, exposureOption(args));
  }

  readValue(getter, args) {
    if (!this.enabled) return;
    this.startValues();
    if (!this.client) return;
    const result = this.client[getter](args.name, exposureOption(args));
    if ('key' in args) result.get(args.key, args.default === undefined ? null : args.default);
  }

  get_config(args) { this.readValue('getDynamicConfig', args); }

  get_experiment(args) { this.readValue('getExperiment', args); }

  get_layer(args) { this.readValue('getLayer', args); }

  get_parameter_store(args) { this.readValue('getParameterStore', args); }

  // A manual exposure: the client has no call for one (Android's manuallyLogGateExposure), so
  // the same read again with exposures on, which logs the value the app sees, deduplicated.
  log_gate_exposure(args) { this.check_gate({ name: args.name }); }

  log_config_exposure(args) { this.readValue('getDynamicConfig', { name: args.name }); }

  log_experiment_exposure(args) { this.readValue('getExperiment', { name: args.name }); }

  log_layer_parameter_exposure(args) { this.readValue('getLayer', { name: args.name, key: args.key }); }

  // -- local overrides (@statsig/js-local-overrides): for everyone; it keeps none per user -----
  overrideAdapter(args) {
    if (!this.overrides) throw new Error('overrides: @statsig/js-local-overrides is not installed');
    if (args.user_id !== undefined) throw new Error('overrides for one user: the override adapter has none');
    return this.overrides;
  }

  override(kind, args) {
    this.overrideAdapter(args);
    if (args.value === undefined) this.overrides[OVERRIDE_REMOVERS[kind]](args.name);
    else this.overrides[OVERRIDE_SETTERS[kind]](args.name, args.value);
  }

  override_gate(args) { this.override('gate', args); }

  override_config(args) { this.override('config', args); }

  override_experiment(args) { this.override('experiment', args); }

  override_layer(args) { this.override('layer', args); }

  override_parameter_store(args) { this.override('parameter_store', args); }

  remove_gate_override(args) { this.override('gate', { ...args, value: undefined }); }

  remove_config_override(args) { this.override('config', { ...args, value: undefined }); }

  remove_experiment_override(args) { this.override('experiment', { ...args, value: undefined }); }

  remove_layer_override(args) { this.override('layer', { ...args, value: undefined }); }

  remove_parameter_store_override(args) { this.override('parameter_store', { ...args, value: undefined }); }

  remove_all_overrides(args) {
    this.overrideAdapter(args).removeAllOverrides();
  }

  // -- bootstrap: the client's dataAdapter.setDataLegacy(values, user), then updateUserSync ---
  bootstrap(args) {
    if (!this.enabled || !this.client) return;
    if (args.user_id !== undefined && args.user_id !== this.clientUser.userID) {
      this.bootstraps[args.user_id] = args.values; // used when a switch makes them the user
      return;
    }
    this.useBootstrap(args.values, this.clientUser);
  }

  useBootstrap(values, user) {
    this.client.dataAdapter.setDataLegacy(JSON.stringify(values), user);
    this.client.updateUserSync(user, { disableBackgroundCacheRefresh: true });
    this.valuesStarted = true; // the values are in: no initialize for this user
    this.pending = Promise.resolve();
  }

  // -- delivery -----------------------------------------------------------------------------
  async flush() {
    if (this.client) await this.client.flush();
    await this.flushCloud();
  }

  async on_background() {
    if (!this.inBackground) await this.lifecycleEvent('Application Backgrounded', {});
    this.inBackground = true;
    await this.flush();
  }

  // Back from the background: Opened (from_background true); a foreground with no
  // background before it (reported at launch) tracks nothing.
  async on_foreground() {
    if (!this.inBackground) return;
    this.inBackground = false;
    await this.lifecycleEvent('Application Opened', { from_background: true, ...this.appVersion() });
    await this.lifecycleEvent('Application Foregrounded', { from_background: true, ...this.appVersion() });
  }

  // Deep Link Opened: every query parameter (the first of a repeated one), the app's
  // properties, then url and referrer, as analytics-kotlin's trackDeepLinks.
  async open_url(args) {
    const properties = {};
    let query = '';
    try { query = new URL(args.url).search; } catch (error) { query = ''; }
    for (const [name, value] of new URLSearchParams(query)) if (!(name in properties)) properties[name] = value;
    Object.assign(properties, args.properties || {}, { url: args.url });
    if (typeof args.referrer === 'string') properties.referrer = args.referrer;
    await this.track({ event: 'Deep Link Opened', properties });
  }

  async shutdown() {
    if (this.client) await this.client.shutdown();
    await this.flushCloud();
  }

  // -- privacy calls ------------------------------------------------------------------------
  async consent_start() {
    if (!this.consent) throw new Error('consent_start: the case needs options.consent');
    for (const event of this.consent.start()) await this.dispatch(event); // held, in call order
  }

  async consent_changed(args) {
    if (!this.consent) throw new Error('consent_changed: the case needs options.consent');
    const context = this.consent.changed(args.categories || {}); // the platform's new answer
    await this.track({ event: privacy.PREFERENCE_EVENT, context });
  }

  set_enabled(args) {
    this.enabled = args.enabled === true;
  }

  // Erase what is undelivered on the device. The adapter's own queues (events held for
  // consent, the cloud leg's batch) it can; Statsig's client has no call that erases its
  // queue (its logging 'disabled' mode stores events to send them later), so what was
  // logged there stays and goes out at the next flush.
  purge() {
    if (this.consent) this.consent.held.splice(0);
    this.cloud.splice(0);
  }

  // -- the cloud leg: Segment gets every call, marked so it does not send them to Statsig again
  cloudEvent(event) {
    const writeKey = (((this.settings || {}).integrations || {})['Segment.io'] || {}).apiKey;
    if (!writeKey || !this.setup.segment_api_url) return;
    if (this.consent && !privacy.cloudAllows(this.consent.state, event)) return;
    this.cloud.push({
      ...mapping.toJSONable(event), integrations: { ...event.integrations, Statsig: false },
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
  'on_foreground', 'open_url', 'check_gate', 'get_config', 'get_experiment', 'get_layer', 'get_parameter_store',
  'wait_for_values', 'log_gate_exposure', 'log_config_exposure', 'log_experiment_exposure',
  'log_layer_parameter_exposure', 'override_gate', 'override_config', 'override_experiment', 'override_layer',
  'override_parameter_store', 'remove_gate_override', 'remove_config_override', 'remove_experiment_override',
  'remove_layer_override', 'remove_parameter_store_override', 'remove_all_overrides', 'bootstrap',
  'consent_start', 'consent_changed', 'set_enabled', 'purge', 'shutdown']);

async function readLines() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

async function main() {
  const messages = await readLines();
  const setup = (messages.find((m) => m.setup) || {}).setup;
  if (!setup) throw new Error('no setup line');
  process.stdout.write(`${JSON.stringify({ capabilities: CAPABILITIES })}\n`);
  if ((setup.requires || []).some((name) => !CAPABILITIES.includes(name))) return; // the harness skips it
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

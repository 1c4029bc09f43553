// Drives Statsig's real JS client (@statsig/js-client) with its local overrides
// (@statsig/js-local-overrides), both installed by ./dev into tests/node/node_modules, through
// the steps tests/test_controls_differential.py gives, against a fake Statsig on loopback,
// and prints what each step answered as one JSON line. The same steps run on our destination.
//
//   node statsig_controls_driver.js '{"url": "http://127.0.0.1:PORT/v1", "key": "client-…",
//        "users": {"alice": {...StatsigUser}, ...}, "first": "alice",
//        "bootstraps": {"<id>": <initialize reply>}, "steps": [{"op": ...}, ...]}'
//
// Evaluation memoization is off: with it on, the client answers a check it made before an
// override was set from its memo until the next values update (a difference in timing, not in
// what an override answers). No request may leave loopback: global fetch is wrapped.
'use strict';

const config = JSON.parse(process.argv[2]);

const realFetch = globalThis.fetch;
const refused = [];
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url;
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch (e) {
    host = '';
  }
  if (host !== '127.0.0.1' && host !== 'localhost') {
    refused.push(url.split('?')[0]);
    return Promise.reject(new Error(`driver refused a request off loopback: ${url.split('?')[0]}`));
  }
  return realFetch(input, init);
};

const { StatsigClient } = require('@statsig/js-client');
const { LocalOverrideAdapter } = require('@statsig/js-local-overrides');

const SETTERS = {
  gate: 'overrideGate', config: 'overrideDynamicConfig', experiment: 'overrideExperiment',
  layer: 'overrideLayer', param_store: 'overrideParamStore',
};
const REMOVERS = {
  gate: 'removeGateOverride', config: 'removeDynamicConfigOverride', experiment: 'removeExperimentOverride',
  layer: 'removeLayerOverride', param_store: 'removeParamStoreOverride',
};

async function main() {
  const overrides = new LocalOverrideAdapter();
  const options = {
    networkConfig: { api: config.url, sdkExceptionUrl: `${config.url}/sdk_exception`, networkTimeoutMs: 5000 },
    loggingEnabled: 'always', logLevel: 1, overrideAdapter: overrides, disableEvaluationMemoization: true,
  };
  const client = new StatsigClient(config.key, config.users[config.first], options);
  await client.initializeAsync();
  const answers = [];
  for (const step of config.steps) {
    const opts = step.expose === false ? { disableExposureLog: true } : undefined;
    switch (step.op) {
      case 'gate': {
        const gate = client.getFeatureGate(step.name, opts);
        answers.push([gate.value, gate.details.reason]);
        break;
      }
      case 'config': {
        const c = client.getDynamicConfig(step.name, opts);
        answers.push([c.get(step.param, null), c.details.reason]);
        break;
      }
      case 'experiment': {
        const e = client.getExperiment(step.name, opts);
        answers.push([e.get(step.param, null), e.groupName, e.details.reason]);
        break;
      }
      case 'layer': {
        const l = client.getLayer(step.name, opts);
        answers.push([l.get(step.param, null), l.details.reason]);
        break;
      }
      case 'store': {
        const s = client.getParameterStore(step.name, opts);
        const got = step.default === null ? s.get(step.param) : s.get(step.param, step.default);
        answers.push([got === undefined ? null : got, s.details.reason]);
        break;
      }
      case 'expose': // the JS client's manual exposure: the same check again, exposure on
        if (step.kind === 'gate') client.getFeatureGate(step.name);
        else if (step.kind === 'config') client.getDynamicConfig(step.name);
        else if (step.kind === 'experiment') client.getExperiment(step.name);
        else client.getLayer(step.name).get(step.param);
        answers.push(null);
        break;
      case 'override':
        overrides[SETTERS[step.kind]](step.name, step.value);
        answers.push(null);
        break;
      case 'remove_override':
        overrides[REMOVERS[step.kind]](step.name);
        answers.push(null);
        break;
      case 'switch': {
        const r = await client.updateUserAsync(config.users[step.user]);
        answers.push(r.source);
        break;
      }
      case 'bootstrap': {
        // setDataLegacy: the values for the user given (setData keeps them for the reply's own user)
        client.dataAdapter.setDataLegacy(JSON.stringify(config.bootstraps[step.values]), config.users[step.user]);
        const r = client.updateUserSync(config.users[step.user]);
        answers.push(r.source);
        break;
      }
      default:
        throw new Error(`unknown step ${step.op}`);
    }
  }
  await client.flush();
  await client.shutdown();
  process.stdout.write(JSON.stringify({ answers, refused }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ crashed: String(e && e.stack ? e.stack : e), refused }) + '\n');
  process.exit(1);
});

// The Segment -> Statsig mapping of this second implementation, as plain functions:
// event names, value, metadata and the Statsig user, after DESIGN.md's "The Statsig side".
// Statsig's own client then sends them its way (adapter.js).
'use strict';

const PREFIXES = { track: 'segment_track', screen: 'segment_screen', page: 'segment_page' };

// "segment_track:<event>"; a page or screen without a name is the bare prefix.
function eventName(type, name) {
  const prefix = PREFIXES[type];
  return typeof name === 'string' && name ? `${prefix}:${name}` : prefix;
}

function numberOrText(value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

// properties.value when a string or a finite number, else properties.revenue, else none.
function eventValue(properties) {
  const value = numberOrText(properties.value);
  return value !== undefined ? value : numberOrText(properties.revenue);
}

// The nearest JS types for the harness's tagged values ({"$datetime": ...}, ...).
const TAGS = {
  $datetime: (v) => new Date(v),
  $date: (v) => v,
  $decimal: (v) => Number(v),
  $bytes: (v) => Buffer.from(v, 'base64'),
  $set: (v) => new Set(decodeValues(v)),
  $tuple: (v) => decodeValues(v),
  $uuid: (v) => v,
  $float: (v) => Number(v === 'inf' ? 'Infinity' : v === '-inf' ? '-Infinity' : v),
};

function decodeValues(value) {
  if (Array.isArray(value)) return value.map(decodeValues);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && TAGS[keys[0]]) return TAGS[keys[0]](value[keys[0]]);
    return Object.fromEntries(keys.map((k) => [k, decodeValues(value[k])]));
  }
  return value;
}

function toJSONable(value) {
  if (value instanceof Set) return Array.from(value, toJSONable);
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(toJSONable);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJSONable(v)]));
  }
  return value;
}

// Metadata is string values: text as is, true/false, numbers as JS writes them, lists and
// objects as compact JSON; null (and NaN, Infinity: JSON has no such number) left out.
function metadataValue(value) {
  const plain = toJSONable(value);
  if (plain === null || plain === undefined) return undefined;
  if (typeof plain === 'string') return plain;
  if (typeof plain === 'boolean') return plain ? 'true' : 'false';
  if (typeof plain === 'number') return Number.isFinite(plain) ? String(plain) : undefined;
  return JSON.stringify(plain);
}

function eventMetadata(properties, category) {
  const metadata = {};
  for (const [key, value] of Object.entries(properties)) {
    const text = metadataValue(value);
    if (text !== undefined) metadata[key] = text;
  }
  if (typeof category === 'string' && !('category' in metadata)) metadata.category = category;
  return metadata;
}

function text(value) {
  return typeof value === 'string' && value ? value : undefined;
}

function customValue(value) {
  const plain = toJSONable(value);
  if (plain === null || ['string', 'number', 'boolean'].includes(typeof plain)) return plain;
  if (Array.isArray(plain)) return plain.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return JSON.stringify(plain);
}

const NOT_CUSTOM = new Set(['email', 'ip', 'userAgent', 'country', 'locale', 'appVersion', 'userId', 'anonymousId']);

// The Statsig user of the Segment identity: userID, the anonymousId as stableID and as
// segmentAnonymousId, known fields from traits and context, every other trait in custom.
function statsigUser({ userId, anonymousId, traits, context }) {
  const user = {};
  if (userId !== null && userId !== undefined) user.userID = String(userId);
  user.customIDs = { stableID: anonymousId, segmentAnonymousId: anonymousId };
  const address = traits.address && typeof traits.address === 'object' ? traits.address : {};
  const location = context.location && typeof context.location === 'object' ? context.location : {};
  const app = context.app && typeof context.app === 'object' ? context.app : {};
  const known = {
    email: text(traits.email),
    ip: text(context.ip) || text(traits.ip),
    userAgent: text(context.userAgent),
    country: text(traits.country) || text(address.country) || text(location.country),
    locale: text(context.locale),
    appVersion: text(app.version),
  };
  for (const [key, value] of Object.entries(known)) {
    if (value !== undefined) user[key] = value;
  }
  const custom = {};
  for (const [key, value] of Object.entries(traits)) {
    if (!NOT_CUSTOM.has(key)) custom[key] = customValue(value);
  }
  if (Object.keys(custom).length > 0) user.custom = custom;
  return user;
}

// Segment's rule: {"Statsig": false}, or {"All": false} without {"Statsig": true}, skips us.
function sendsToStatsig(integrations) {
  if (!integrations || typeof integrations !== 'object') return true;
  if (integrations.Statsig === false) return false;
  if (integrations.All === false && integrations.Statsig !== true) return false;
  return true;
}

module.exports = { eventName, eventValue, eventMetadata, statsigUser, sendsToStatsig, decodeValues, toJSONable };

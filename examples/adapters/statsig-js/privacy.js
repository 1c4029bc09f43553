// The privacy side of this second implementation, none of which Statsig's JS client has:
// destination filters (Segment's own engine, @segment/tsub, on Statsig's copy of an event,
// as analytics.js runs them for a device-mode destination) and consent (the categories
// Segment's settings map each destination to, the user's choice stamped on every event,
// as segment-integrations/analytics-kotlin-consent does it). adapter.js puts them in order.
'use strict';

const { toJSONable } = require('./mapping');

// -- destination filters ----------------------------------------------------------------------

// The routing rules in Segment's CDN settings (middlewareSettings.routingRules); [] if none.
function routingRules(settings) {
  const middleware = settings && typeof settings === 'object' ? settings.middlewareSettings : undefined;
  const rules = middleware && typeof middleware === 'object' ? middleware.routingRules : undefined;
  return Array.isArray(rules) ? rules : [];
}

// The filter of destination `name`: event -> the event tsub makes of it, or null (dropped).
// What analytics.js's tsubMiddleware does: the rules naming the destination (and those
// naming none: tsub's Store.getRulesByDestinationName); for each, matcher i holding runs
// step transformers[i] on the event as it is by then; a drop ends it. tsub changes the
// payload in place, so it gets the destination's own copy: the event as JSON data.
function destinationFilter(tsub, rules, name) {
  const chosen = new tsub.Store(rules).getRulesByDestinationName(name);
  if (chosen.length === 0) return null;
  return (event) => {
    let payload = JSON.parse(JSON.stringify(toJSONable(event)));
    for (const { matchers, transformers } of chosen) {
      for (let i = 0; i < matchers.length; i++) {
        if (tsub.matches(payload, matchers[i])) {
          payload = tsub.transform(payload, transformers[i]);
          if (payload === null) return null;
        }
      }
    }
    return payload;
  };
}

// -- consent ------------------------------------------------------------------------------------

const PREFERENCE_EVENT = 'Segment Consent Preference Updated';

function isPreferenceEvent(event) {
  return event.type === 'track' && event.event === PREFERENCE_EVENT;
}

// What the settings say: the categories each destination needs
// (integrations.<key>.consentSettings.categories; [] when that block has no list), every
// category the workspace knows, and whether any destination is left unmapped (default true).
function consentState(settings) {
  const integrations = (settings && settings.integrations) || {};
  const categories = {};
  for (const [key, block] of Object.entries(integrations)) {
    const consent = block && typeof block === 'object' ? block.consentSettings : undefined;
    if (consent && typeof consent === 'object') {
      categories[key] = Array.isArray(consent.categories)
        ? consent.categories.filter((c) => typeof c === 'string').map((c) => c.trim()) : [];
    }
  }
  const top = settings && settings.consentSettings && typeof settings.consentSettings === 'object'
    ? settings.consentSettings : {};
  return {
    destinationCategories: categories,
    allCategories: Array.isArray(top.allCategories) ? top.allCategories.filter((c) => typeof c === 'string') : [],
    hasUnmappedDestinations: typeof top.hasUnmappedDestinations === 'boolean' ? top.hasUnmappedDestinations : true,
  };
}

// {category: bool}, booleans only (what a consent platform answers, checked).
function choices(value) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, given]) => typeof given === 'boolean'));
}

// The categories the event's stamp says are consented to (exactly true).
function consented(event) {
  const consent = event.context && event.context.consent;
  const preferences = consent && typeof consent === 'object' ? consent.categoryPreferences : undefined;
  if (!preferences || typeof preferences !== 'object') return new Set();
  return new Set(Object.keys(preferences).filter((category) => preferences[category] === true));
}

// A device-mode destination gets the event when the settings do not map it, when it is the
// preference event, or when every category they map it to is consented in the event's
// stamp. Mapped to no category at all ([]) it gets nothing, the preference event included
// (analytics-kotlin-consent's ConsentBlocker: a mapping was meant, its categories are missing).
function deviceAllows(state, key, event) {
  const required = state.destinationCategories[key];
  if (required === undefined) return true;
  if (required.length === 0) return false;
  if (isPreferenceEvent(event)) return true;
  const given = consented(event);
  return required.every((category) => given.has(category));
}

// The cloud leg: Segment's servers hold each destination to its categories, so an event
// goes unless every destination is mapped and the user consented to no category at all.
function cloudAllows(state, event) {
  return state.hasUnmappedDestinations || isPreferenceEvent(event) || consented(event).size > 0;
}

// The consent manager: holds every event until start(), then stamps each with the choice
// in force (context.consent.categoryPreferences): the platform's answer at start(), then the
// one each preference event carries from its consent_changed on, in call order.
class Consent {
  constructor(initial) {
    this.provider = choices(initial); // what the consent platform answers now
    this.current = {};
    this.started = false;
    this.held = [];
    this.state = consentState({});
  }

  start() {
    this.current = { ...this.provider };
    this.started = true;
    return this.held.splice(0);
  }

  changed(categories) {
    this.provider = choices(categories);
    return { consent: { categoryPreferences: { ...this.provider } } }; // the preference event's context
  }

  stamp(event) {
    const carried = (event.context && event.context.consent || {}).categoryPreferences;
    if (isPreferenceEvent(event) && carried && typeof carried === 'object') this.current = choices(carried);
    return { ...event, context: { ...(event.context || {}), consent: { categoryPreferences: { ...this.current } } } };
  }
}

module.exports = {
  routingRules, destinationFilter, PREFERENCE_EVENT, isPreferenceEvent, consentState, consented, deviceAllows,
  cloudAllows, Consent,
};

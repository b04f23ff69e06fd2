/* pulse tracking snippet (GET /t.js). Event contract v1: see the README, "Sending events".
 *
 *   <script async src="https://HOOKS/t.js"></script>
 *   optional attributes: data-heartbeat="15" (seconds between engaged-time heartbeats)
 *                        data-cookie-days="365" data-cookie-domain=".example.com"
 *
 * - page_view on load (and on single-page-app navigation), with its own event_id;
 * - page_engagement heartbeats while the tab is visible: the page view's id and its engaged
 *   seconds so far (a heartbeat is not a page view; the largest value wins);
 * - anonymous_id in a first-party cookie (_pulse_aid);
 * - identify when a form with an email field is submitted (and form_submit when the form
 *   carries data-pulse-form="<form id>");
 * - everything is sent with navigator.sendBeacon to POST /collect, as text/plain (no preflight).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__pulse) return;
  var base = new URL(script.src, location.href);
  var endpoint = base.origin + "/collect";
  var opt = function (name, dflt) {
    var v = parseFloat(script.getAttribute("data-" + name));
    return isFinite(v) && v > 0 ? v : dflt;
  };
  var HEARTBEAT_S = opt("heartbeat", 15);
  var COOKIE_DAYS = opt("cookie-days", 365);
  var COOKIE_DOMAIN = script.getAttribute("data-cookie-domain");
  var MAX_ENGAGED_S = 86400;

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function anonymousId() {
    var m = document.cookie.match(/(?:^|;\s*)_pulse_aid=([^;]+)/);
    var id = m ? decodeURIComponent(m[1]) : uuid();
    var cookie = "_pulse_aid=" + encodeURIComponent(id) + "; path=/; max-age=" + Math.round(COOKIE_DAYS * 86400) +
      "; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "") +
      (COOKIE_DOMAIN ? "; domain=" + COOKIE_DOMAIN : "");
    document.cookie = cookie;  // refresh the expiry on every visit
    return id;
  }

  var aid = anonymousId();

  function send(events) {
    var body = JSON.stringify(events);
    var sent = false;
    try {
      sent = navigator.sendBeacon && navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }));
    } catch (e) { sent = false; }
    if (!sent && window.fetch) {
      fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "no-cors",
                        headers: { "Content-Type": "text/plain" } }).catch(function () {});
    }
  }

  function event(type, fields) {
    var e = { type: type, event_id: uuid(), occurred_at: new Date().toISOString(), anonymous_id: aid };
    for (var k in fields) if (fields[k] !== undefined && fields[k] !== null && fields[k] !== "") e[k] = fields[k];
    return e;
  }

  // Engaged time: seconds the tab was visible since the page view.
  var view = null, engagedMs = 0, visibleSince = null, lastSent = 0, timer = null;

  function engagedSeconds() {
    var ms = engagedMs + (visibleSince !== null ? Date.now() - visibleSince : 0);
    return Math.min(MAX_ENGAGED_S, Math.floor(ms / 1000));
  }

  function heartbeat() {
    if (!view) return;
    var s = engagedSeconds();
    if (s <= lastSent) return;  // nothing new: no event
    lastSent = s;
    send([event("page_engagement", { page_view_id: view.event_id, engaged_seconds: s, url: view.url })]);
  }

  function onVisibility() {
    if (document.visibilityState === "visible") {
      if (visibleSince === null) visibleSince = Date.now();
      if (!timer) timer = setInterval(heartbeat, HEARTBEAT_S * 1000);
    } else {
      if (visibleSince !== null) { engagedMs += Date.now() - visibleSince; visibleSince = null; }
      if (timer) { clearInterval(timer); timer = null; }
      heartbeat();  // the last word before the tab may be closed
    }
  }

  function pageView() {
    if (view) heartbeat();  // close the previous view of a single-page app
    engagedMs = 0; lastSent = 0;
    visibleSince = document.visibilityState === "visible" ? Date.now() : null;
    view = event("page_view", { url: location.href.slice(0, 2048), referrer: document.referrer.slice(0, 2048),
                                title: document.title.slice(0, 512) });
    send([view]);
  }

  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", function () {
    if (visibleSince !== null) { engagedMs += Date.now() - visibleSince; visibleSince = Date.now(); }
    heartbeat();
  });

  // Single-page apps: a new URL is a new page view.
  var lastUrl = location.href;
  function onNavigate() { if (location.href !== lastUrl) { lastUrl = location.href; pageView(); } }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () { var r = original.apply(this, arguments); onNavigate(); return r; };
  });
  window.addEventListener("popstate", onNavigate);

  // A visitor who fills a form with an email tells us who the cookie belongs to.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || !form.elements) return;
    var email = null;
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i];
      if ((el.type === "email" || /e-?mail/i.test(el.name || "")) && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test((el.value || "").trim())) {
        email = el.value.trim().toLowerCase();
        break;
      }
    }
    var out = [];
    if (email) out.push(event("identify", { email: email }));
    var formId = form.getAttribute("data-pulse-form");
    if (formId) out.push(event("form_submit", { form_id: formId, email: email || undefined, url: location.href.slice(0, 2048),
                                                 asset: form.getAttribute("data-pulse-asset") || undefined }));
    if (out.length) send(out);
  }, true);

  window.__pulse = {
    anonymousId: aid,
    track: function (type, fields) { send([event(type, fields || {})]); },
    identify: function (email) { send([event("identify", { email: email })]); }
  };

  pageView();
  onVisibility();
})();

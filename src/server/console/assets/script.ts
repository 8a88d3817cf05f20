/**
 * The console's script, served as /assets/console.js: it sends the page's
 * forms to the owner API as JSON with the session's CSRF token, shows the
 * API's error messages, and writes times in the viewer's time zone. Kept as a
 * string in a module so the compiled package carries it without a copy step
 * (plain ES2017, no template literals, so it can sit inside this one).
 */
export const CONSOLE_JS = `'use strict';
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var FLASH_KEY = 'countersign-flash';

  function call(method, path, body) {
    var headers = { accept: 'application/json' };
    if (method !== 'GET') headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.text().then(function (text) {
          var data = {};
          try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {}; }
          return { ok: response.ok, status: response.status, body: data };
        });
      }, function () {
        return { ok: false, status: 0, body: { error_description: 'the server could not be reached; check the connection and try again' } };
      });
  }

  function describe(answer) {
    var text = answer.body && answer.body.error_description ? String(answer.body.error_description) : 'the server answered ' + answer.status;
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');
  }

  function errorBox(form) {
    var card = form.closest('.card') || form;
    return card.querySelector('.error');
  }

  function fail(form, answer) {
    if (answer.status === 401 && form.getAttribute('data-form') !== 'sign-in') {
      location.assign('/?next=' + encodeURIComponent(location.pathname + location.search));
      return;
    }
    var box = errorBox(form);
    if (box) { box.textContent = describe(answer); box.hidden = false; }
  }

  function localPath(value) {
    return typeof value === 'string' && value.charAt(0) === '/' && value.charAt(1) !== '/' && value.indexOf('\\\\') === -1 ? value : '/';
  }

  function credentials(form) {
    return { email: form.elements.namedItem('email').value, password: form.elements.namedItem('password').value };
  }

  function flashNext(message, kind) {
    try { sessionStorage.setItem(FLASH_KEY, JSON.stringify({ message: message, kind: kind || 'ok' })); } catch (e) { /* storage off: no flash */ }
  }

  var handlers = {
    'sign-in': function (form) {
      return call('POST', '/api/session', credentials(form)).then(function (answer) {
        if (!answer.ok) return fail(form, answer);
        location.assign(localPath(form.getAttribute('data-next')));
      });
    },
    'sign-up': function (form) {
      var body = credentials(form);
      return call('POST', '/api/owners', body).then(function (created) {
        if (!created.ok) return fail(form, created);
        return call('POST', '/api/session', body).then(function (answer) {
          if (!answer.ok) return fail(form, answer);
          location.assign(localPath(form.getAttribute('data-next')));
        });
      });
    },
    'decide': function (form, submitter) {
      var verb = submitter && submitter.value === 'deny' ? 'deny' : 'approve';
      var code = form.getAttribute('data-user-code');
      return call('POST', '/api/approvals/' + encodeURIComponent(code) + '/' + verb).then(function (answer) {
        if (!answer.ok) return fail(form, answer);
        location.reload();
      });
    },
    'revoke': function (form) {
      var id = form.getAttribute('data-agent-id');
      var name = form.getAttribute('data-agent-name');
      return call('POST', '/api/agents/' + encodeURIComponent(id) + '/revoke').then(function (answer) {
        if (!answer.ok) return fail(form, answer);
        var count = answer.body.revoked_sessions;
        flashNext('Revoked ' + (count === 1 ? 'one session' : count + ' sessions') + ' of ' + name + '.');
        location.reload();
      });
    }
  };

  document.addEventListener('submit', function (event) {
    var form = event.target;
    var handler = form && handlers[form.getAttribute('data-form')];
    if (!handler) return;
    event.preventDefault();
    if (form.getAttribute('aria-busy') === 'true') return;
    var box = errorBox(form);
    if (box) box.hidden = true;
    var buttons = form.querySelectorAll('button');
    form.setAttribute('aria-busy', 'true');
    buttons.forEach(function (button) { button.disabled = true; });
    Promise.resolve(handler(form, event.submitter)).finally(function () {
      form.removeAttribute('aria-busy');
      buttons.forEach(function (button) { button.disabled = false; });
    });
  });

  var signOut = document.querySelector('[data-sign-out]');
  if (signOut) {
    signOut.addEventListener('click', function () {
      call('DELETE', '/api/session').then(function () { location.assign('/'); });
    });
  }

  var flash = document.getElementById('flash');
  var pending = null;
  try { pending = sessionStorage.getItem(FLASH_KEY); sessionStorage.removeItem(FLASH_KEY); } catch (e) { pending = null; }
  if (flash && pending) {
    try {
      var parsed = JSON.parse(pending);
      flash.textContent = String(parsed.message);
      if (parsed.kind === 'bad') flash.classList.add('bad');
      flash.hidden = false;
    } catch (e) { /* a damaged flash is dropped */ }
  }

  var UNITS = [['day', 86400000], ['hour', 3600000], ['minute', 60000]];
  var relative = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
  function fromNow(ms) {
    var diff = ms - Date.now();
    if (!relative) return '';
    if (Math.abs(diff) < 60000) return diff >= 0 ? 'in less than a minute' : 'just now';
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(diff) >= UNITS[i][1]) return relative.format(Math.round(diff / UNITS[i][1]), UNITS[i][0]);
    }
    return '';
  }
  document.querySelectorAll('time[datetime]').forEach(function (node) {
    var ms = Date.parse(node.getAttribute('datetime'));
    if (isNaN(ms)) return;
    var absolute = new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    var ago = fromNow(ms);
    node.textContent = ago ? absolute + ' (' + ago + ')' : absolute;
    node.title = new Date(ms).toISOString();
  });
})();
`

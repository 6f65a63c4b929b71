extension TriagePage {
    /// Helpers, the token, calls to the API, and the summary with the release gate.
    static let scriptCore = #"""
        'use strict';
        // Every value from the API goes into the page through textContent or a text node, never as markup.
        const API = '/api/admin/billing-assurance';
        const TOKEN_KEY = 'assure.triage.token';
        const SEVERITIES = ['critical', 'error', 'warning', 'info'];
        const state = { report: null, gate: null, selected: null, dryRunFor: null, generation: 0 };
        const $ = (id) => document.getElementById(id);

        /** Builds an element; `text` sets textContent, other keys are attributes named by this script. */
        function el(tag, props, ...children) {
          const node = document.createElement(tag);
          for (const [key, value] of Object.entries(props || {})) {
            if (value === undefined || value === null || value === false) continue;
            if (key === 'text') node.textContent = String(value);
            else if (key === 'class') node.className = value;
            else node.setAttribute(key, value === true ? '' : String(value));
          }
          for (const child of children) {
            if (child === undefined || child === null) continue;
            node.append(typeof child === 'string' ? document.createTextNode(child) : child);
          }
          return node;
        }

        /** A value for display: an em dash when the API did not send it. */
        function show(value) {
          if (value === undefined || value === null || value === '') return '\u2014';
          if (typeof value === 'number') return value.toLocaleString('en-US');
          if (typeof value === 'object') return JSON.stringify(value);
          return String(value);
        }

        function setText(id, value) { $(id).textContent = show(value); }

        function token() {
          try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
        }

        /** Calls the API with the tab's token; never throws, answers {status, ok, data, message}. */
        async function api(method, path, body) {
          const headers = { 'Accept': 'application/json', 'Authorization': 'Bearer ' + (token() || '') };
          const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
          if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
          }
          let response;
          try {
            response = await fetch(API + path, init);
          } catch (error) {
            return { status: 0, ok: false, data: null, message: 'the worker did not answer (' + error.message + ')' };
          }
          const text = await response.text();
          let data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return { status: response.status, ok: response.ok, data, message: errorMessage(data, text, response) };
        }

        function errorMessage(data, text, response) {
          if (data && data.error && typeof data.error.message === 'string') return data.error.message;
          if (data && typeof data.error === 'string') return data.error;
          if (data && typeof data.message === 'string') return data.message;
          return text ? text.slice(0, 500) : response.statusText;
        }

        function describeFailure(r) {
          return r.status === 0 ? r.message : 'HTTP ' + r.status + ': ' + r.message;
        }

        /** The API refused or failed: show its answer and no data at all. */
        function refuse(r) {
          clearData();
          const refusal = $('refusal');
          refusal.replaceChildren(
            el('span', { text: 'The API refused: ' }),
            el('span', { id: 'refusal-detail', text: describeFailure(r) }));
          refusal.hidden = false;
          if (r.status === 401 || r.status === 403) {
            try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage unavailable */ }
            showLogin();
          } else {
            // Not the token's fault (the worker is down or failing): let the person try again.
            $('refresh').hidden = false;
            $('forget-token').hidden = false;
          }
        }

        function clearData() {
          state.report = null;
          state.gate = null;
          state.selected = null;
          state.dryRunFor = null;
          state.generation += 1;
          for (const id of ['summary', 'issues', 'detail', 'refresh', 'forget-token']) $(id).hidden = true;
          for (const id of ['issue-rows', 'gate-blockers', 'severity-counts', 'list-count', 'detail-facts',
            'detail-evidence', 'history', 'timeline', 'action-result', 'detail-title']) $(id).replaceChildren();
        }

        function showLogin() {
          $('login').hidden = false;
          $('token-input').value = '';
          $('token-input').focus();
        }

        /** Loads the report (and then the gate); keeps the selection when the issue is still open. */
        async function loadAll() {
          const generation = ++state.generation;
          const r = await api('GET', '');
          if (generation !== state.generation) return;
          if (!r.ok || !r.data || !Array.isArray(r.data.issues)) {
            refuse(r.ok ? { status: r.status, message: 'the report is not what this page expects' } : r);
            return;
          }
          state.report = r.data;
          $('refusal').hidden = true;
          $('login').hidden = true;
          for (const id of ['summary', 'issues', 'refresh', 'forget-token']) $(id).hidden = false;
          renderSummary();
          renderFilters();
          renderList();
          refreshSelection();
          loadGate(generation);
        }

        function renderSummary() {
          const summary = state.report.summary || {};
          setText('s-status', summary.status);
          setText('s-score', summary.score);
          setText('s-alerts', summary.alertCount);
          setText('s-open', summary.openIssues !== undefined ? summary.openIssues : state.report.issues.length);
          const atRisk = summary.atRisk || {};
          $('s-leakage').textContent = credits(atRisk.leakageCredits);
          $('s-harm').textContent = credits(atRisk.customerHarmCredits);
          const held = summary.heldChecks;
          $('s-held').textContent = Array.isArray(held) ? (held.length ? held.join(', ') : 'none') : show(held);
        }

        function credits(value) {
          return typeof value === 'number' ? value.toLocaleString('en-US') + ' credits' : show(value);
        }

        async function loadGate(generation) {
          $('s-gate').textContent = 'asking\u2026';
          $('gate-blockers').replaceChildren();
          const r = await api('GET', '/release-gate');
          if (generation !== state.generation) return;
          if (!r.ok || !r.data || typeof r.data.pass !== 'boolean') {
            $('s-gate').textContent = '\u2014';
            $('s-gate').title = 'release gate not available: ' + describeFailure(r);
            return;
          }
          state.gate = r.data;
          const blockers = Array.isArray(r.data.blockers) ? r.data.blockers : [];
          $('s-gate').textContent = r.data.pass ? 'pass' : 'blocked (' + blockers.length + ')';
          $('s-gate').removeAttribute('title');
          $('gate-blockers').replaceChildren(...blockers.map((blocker) =>
            el('li', {}, el('span', { class: 'mono', text: show(blocker.issueId) }), ': ' + show(blocker.reason))));
        }
        """#
}

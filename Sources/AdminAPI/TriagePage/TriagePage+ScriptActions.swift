extension TriagePage {
    /// The actions the API allows for the selected issue, their results, and the page's wiring.
    static let scriptActions = #"""
        const FINAL_OUTCOMES = ['applied', 'explained', 'acknowledged', 'snoozed'];

        function setActionsEnabled(enabled, issue) {
          const repairable = Boolean(enabled && issue && issue.repair);
          $('btn-dry-run').hidden = Boolean(issue) && !issue.repair;
          $('btn-apply').hidden = Boolean(issue) && !issue.repair;
          $('btn-dry-run').disabled = !repairable;
          $('btn-apply').disabled = !repairable || state.dryRunFor !== (issue && issue.issueId);
          for (const id of ['btn-explain', 'btn-ack', 'btn-snooze', 'reason', 'snooze-until']) $(id).disabled = !enabled;
          $('repair-note').textContent = !issue ? '' : issue.repair
            ? 'Repair ' + show(issue.repair.action) + ': run a dry run first; apply is offered once the plan is shown.'
            : 'No safe automated repair for ' + show(issue.check) + ': explain, acknowledge or snooze it.';
        }

        /** Local date-time input value for a moment, e.g. an hour from now. */
        function localInputValue(date) {
          const pad = (n) => String(n).padStart(2, '0');
          return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + 'T' +
            pad(date.getHours()) + ':' + pad(date.getMinutes());
        }

        function showResultMessage(text, bad) {
          $('action-result').replaceChildren(el('p', { class: 'outcome' + (bad ? ' outcome-bad' : ''), id: 'action-outcome', text }));
        }

        /** A command's result: its outcome, the rejection and why, the plan of a dry run, the audit rows. */
        function showOutcome(result) {
          const outcome = show(result.outcome);
          const rejected = result.outcome === 'rejected';
          const headline = 'Outcome: ' + outcome + (result.rejection ? ' (' + result.rejection + ')' : '');
          const parts = [el('p', { class: 'outcome' + (rejected ? ' outcome-bad' : ''), id: 'action-outcome', text: headline })];
          if (result.detail) parts.push(el('p', { id: 'action-detail', text: 'Reason: ' + result.detail }));
          if (result.plan !== undefined && result.plan !== null) {
            parts.push(el('h4', { text: 'Plan (nothing applied yet)' }));
            parts.push(el('pre', { id: 'action-plan', text: JSON.stringify(result.plan, null, 2) }));
          }
          if (Array.isArray(result.audit) && result.audit.length) {
            parts.push(el('p', { text: 'Audit rows: ' + result.audit.map((a) => show(a.table) + '/' + show(a.id)).join(', ') }));
          }
          parts.push(el('p', { class: 'quiet', text: 'Command ' + show(result.commandId) + ', processed ' + show(result.processedAt) }));
          $('action-result').replaceChildren(...parts);
        }

        /** A 202: the command is published but its result had not arrived; follow it up until it does. */
        async function followUp(commandId, issueId) {
          const deadline = Date.now() + 60000;
          while (Date.now() < deadline) {
            if (state.selected !== issueId) return null;
            showResultMessage('Pending: command ' + commandId + ' is published; waiting for its result\u2026', false);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const r = await api('GET', '/commands/' + encodeURIComponent(commandId));
            if (r.ok && r.data && r.data.outcome) return r.data;
            if (r.status !== 404) {
              showResultMessage('Pending: command ' + commandId + '; asking for its result failed: ' + describeFailure(r), true);
              return null;
            }
          }
          showResultMessage('Still pending after 60 s: command ' + commandId + '. Ask GET ' + API + '/commands/' + commandId + ' later.', true);
          return null;
        }

        async function act(kind) {
          const issue = currentIssue();
          if (!issue) return;
          const reason = $('reason').value;
          if (!reason.trim()) {
            showResultMessage('Give a reason first: every action records why.', true);
            $('reason').focus();
            return;
          }
          const body = { issueId: issue.issueId, reason };
          if (kind === 'dry-run') { body.action = 'repair'; body.dryRun = true; }
          if (kind === 'apply') { body.action = 'repair'; body.dryRun = false; }
          if (kind === 'explain') body.action = 'explain';
          if (kind === 'ack') body.action = 'ack';
          if (kind === 'snooze') {
            const until = new Date($('snooze-until').value);
            if (!$('snooze-until').value || Number.isNaN(until.getTime())) {
              showResultMessage('Choose the date and time the snooze ends.', true);
              $('snooze-until').focus();
              return;
            }
            body.action = 'snooze';
            body.until = until.toISOString().replace(/\.\d{3}Z$/, 'Z');
          }
          setActionsEnabled(false, issue);
          showResultMessage('Sending ' + kind + ' for ' + issue.issueId + '\u2026', false);
          const r = await api('POST', '', body);
          let result = null;
          if (r.status === 202 && r.data && typeof r.data.commandId === 'string') {
            result = await followUp(r.data.commandId, issue.issueId);
          } else if (r.ok && r.data) {
            result = r.data;
          }
          // Another issue was selected meanwhile: its panel must not show this answer.
          if (state.selected !== issue.issueId) return;
          if (result) showOutcome(result);
          else if (!r.ok) showResultMessage('Refused by the API: ' + describeFailure(r), true);
          state.dryRunFor = result && result.outcome === 'dry_run' ? issue.issueId : null;
          if (result && FINAL_OUTCOMES.includes(result.outcome)) {
            await loadAll();
          } else {
            setActionsEnabled(true, currentIssue() || issue);
          }
          if (state.dryRunFor && !$('btn-apply').disabled) $('btn-apply').focus();
        }

        function start() {
          $('origin-line').textContent = 'Worker ' + location.host;
          $('token-form').addEventListener('submit', (event) => {
            event.preventDefault();
            const value = $('token-input').value.trim();
            if (!value) return;
            try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* kept for this load only */ }
            $('token-input').value = '';
            loadAll();
          });
          $('refresh').addEventListener('click', () => loadAll());
          $('forget-token').addEventListener('click', () => {
            try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
            clearData();
            $('refusal').hidden = true;
            showLogin();
          });
          $('filters').addEventListener('submit', (event) => event.preventDefault());
          $('action-form').addEventListener('submit', (event) => event.preventDefault());
          for (const id of ['f-severity', 'f-category', 'f-check']) $(id).addEventListener('change', () => state.report && renderList());
          $('f-search').addEventListener('input', () => state.report && renderList());
          $('filters').addEventListener('reset', () => setTimeout(() => state.report && renderList(), 0));
          $('btn-dry-run').addEventListener('click', () => act('dry-run'));
          $('btn-apply').addEventListener('click', () => act('apply'));
          $('btn-explain').addEventListener('click', () => act('explain'));
          $('btn-ack').addEventListener('click', () => act('ack'));
          $('btn-snooze').addEventListener('click', () => act('snooze'));
          $('snooze-until').value = localInputValue(new Date(Date.now() + 3600 * 1000));
          if (token()) loadAll(); else showLogin();
        }

        start();
        """#
}

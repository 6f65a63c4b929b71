extension TriagePage {
    /// One issue: its facts, evidence and amount at risk, its history with causes, the user's timeline.
    static let scriptDetail = #"""
        /** Selects an issue from the list: shows what the report knows at once, then asks for history and timeline. */
        function select(issueId, moveFocus) {
          const changed = state.selected !== issueId;
          state.selected = issueId;
          if (changed) {
            state.dryRunFor = null;
            $('action-result').replaceChildren();
            $('reason').value = '';
          }
          markSelectedRow();
          const issue = currentIssue();
          if (!issue) return;
          renderDetail(issue);
          $('detail').hidden = false;
          loadHistory(issue.issueId);
          loadTimeline(issue.issueId, issue.userId);
          if (moveFocus) $('detail-title').focus();
        }

        /** After a reload: refresh the selected issue, or say that it is no longer open. */
        function refreshSelection() {
          if (!state.selected) return;
          const issue = currentIssue();
          if (issue) {
            renderDetail(issue);
            loadHistory(issue.issueId);
            loadTimeline(issue.issueId, issue.userId);
            return;
          }
          $('detail-gone').textContent = 'This issue is no longer open: it left the report.';
          $('detail-gone').hidden = false;
          setActionsEnabled(false, null);
          loadHistory(state.selected);
        }

        function pair(term, value) {
          const dd = value instanceof Node ? el('dd', {}, value) : el('dd', { text: show(value) });
          return [el('dt', { text: term }), dd];
        }

        function operatorAction(value) {
          if (!value || typeof value !== 'object') return null;
          return show(value.note) + ' \u2014 ' + show(value.actor) + ' at ' + show(value.at) +
            ' (' + show(value.commandId) + ')';
        }

        function renderDetail(issue) {
          $('detail-gone').hidden = true;
          $('detail-title').textContent = show(issue.title);
          $('detail-facts').replaceChildren(
            ...pair('Issue id', el('span', { class: 'mono', id: 'detail-issue-id', text: show(issue.issueId) })),
            ...pair('Severity', severityLabel(issue.severity)),
            ...pair('Category', issue.category),
            ...pair('Check', issue.check),
            ...pair('User', issue.userId),
            ...pair('Revenue impacting', issue.revenueImpacting === undefined ? null : (issue.revenueImpacting ? 'yes' : 'no')),
            ...pair('Amount at risk', atRiskText(issue.atRisk)),
            ...pair('First seen', issue.firstSeenAt),
            ...pair('Last seen', issue.lastSeenAt),
            ...pair('Repair', issue.repair ? show(issue.repair.action) + ': ' + show(issue.repair.description) : 'none automated'),
            ...pair('Explanation', operatorAction(issue.explanation)),
            ...pair('Acknowledgement', operatorAction(issue.acknowledgement)),
            ...pair('Snoozed until', issue.snoozedUntil));
          $('detail-evidence').textContent = JSON.stringify(issue.evidence === undefined ? null : issue.evidence, null, 2);
          setActionsEnabled(true, issue);
        }

        /** Where an event came from: an input record, a command, bootstrap, or the passage of time. */
        function causeText(cause) {
          if (!cause || typeof cause !== 'object') return '\u2014';
          if (typeof cause.topic === 'string') {
            return cause.topic + ' partition ' + show(cause.partition) + ' offset ' + show(cause.offset);
          }
          if (typeof cause.commandId === 'string') return 'command ' + cause.commandId;
          if (typeof cause.bootstrap === 'string') return 'bootstrap of ' + cause.bootstrap;
          if (cause.timer === true) return 'timer (passage of time)';
          return JSON.stringify(cause);
        }

        function table(caption, headings, rows) {
          return el('div', { class: 'scroll' }, el('table', {},
            el('caption', { class: 'visually-hidden', text: caption }),
            el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col', text: h })))),
            el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) =>
              c instanceof Node ? el('td', {}, c) : el('td', { text: show(c) })))))));
        }

        async function loadHistory(issueId) {
          const target = $('history');
          target.replaceChildren(el('p', { class: 'quiet', text: 'Loading the history\u2026' }));
          const r = await api('GET', '/issues/' + encodeURIComponent(issueId));
          if (state.selected !== issueId) return;
          if (!r.ok || !r.data || !Array.isArray(r.data.history)) {
            target.replaceChildren(el('p', { class: 'quiet', id: 'history-missing',
              text: '\u2014 (history not available: ' + describeFailure(r.ok ? { status: r.status, message: 'no history in the answer' } : r) + ')' }));
            return;
          }
          const rows = r.data.history.map((event) => {
            let action = null;
            if (event.explanation) action = 'explained';
            if (event.acknowledgement) action = 'acknowledged';
            if (event.snoozedUntil) action = 'snoozed until ' + event.snoozedUntil;
            if (event.resurfaced) action = 'resurfaced';
            return [event.version, event.status + (event.resolution ? ' (' + event.resolution + ')' : ''),
              severityLabel(event.severity), event.resolvedAt || event.lastSeenAt, atRiskText(event.atRisk),
              causeText(event.cause), action];
          });
          target.replaceChildren(table('Every event of the issue in version order',
            ['Version', 'Status', 'Severity', 'At', 'At risk', 'Cause', 'Operator action'], rows));
          target.firstChild.id = 'history-table';
        }

        async function loadTimeline(issueId, userId) {
          const target = $('timeline');
          if (!userId) {
            target.replaceChildren(el('p', { class: 'quiet', text: '\u2014 (this issue has no user)' }));
            return;
          }
          target.replaceChildren(el('p', { class: 'quiet', text: 'Loading the timeline\u2026' }));
          const r = await api('GET', '/users/' + encodeURIComponent(userId) + '/timeline?limit=200');
          if (state.selected !== issueId) return;
          if (!r.ok || !r.data || !Array.isArray(r.data.entries)) {
            target.replaceChildren(el('p', { class: 'quiet', id: 'timeline-missing',
              text: '\u2014 (timeline not available: ' + describeFailure(r.ok ? { status: r.status, message: 'no entries in the answer' } : r) + ')' }));
            return;
          }
          if (r.data.entries.length === 0) {
            target.replaceChildren(el('p', { class: 'quiet', text: 'Nothing known about this user.' }));
            return;
          }
          const rows = r.data.entries.map((entry) => [entry.at, entry.kind,
            el('code', { text: JSON.stringify(entry.data === undefined ? null : entry.data) })]);
          target.replaceChildren(table('What is known about the user, oldest first', ['At', 'Kind', 'Record'], rows));
          target.firstChild.id = 'timeline-table';
        }
        """#
}

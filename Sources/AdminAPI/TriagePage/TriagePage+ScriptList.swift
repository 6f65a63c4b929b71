extension TriagePage {
    /// The open issues: filters, counts per severity, and the table in the report's order.
    static let scriptList = #"""
        function distinct(values) {
          return [...new Set(values.filter((v) => typeof v === 'string' && v !== ''))].sort();
        }

        /** Fills a filter's options from the report, keeping the current choice when it still exists. */
        function fillSelect(id, values) {
          const select = $(id);
          const current = select.value;
          select.replaceChildren(el('option', { value: '', text: 'all' }),
            ...values.map((v) => el('option', { value: v, text: v })));
          select.value = values.includes(current) ? current : '';
        }

        function renderFilters() {
          const issues = state.report.issues;
          const present = new Set(issues.map((i) => i.severity));
          fillSelect('f-severity', SEVERITIES.filter((s) => present.has(s))
            .concat(distinct(issues.map((i) => i.severity)).filter((s) => !SEVERITIES.includes(s))));
          fillSelect('f-category', distinct(issues.map((i) => i.category)));
          fillSelect('f-check', distinct(issues.map((i) => i.check)));
          const counts = {};
          for (const issue of issues) counts[issue.severity] = (counts[issue.severity] || 0) + 1;
          const parts = SEVERITIES.map((s) => s + ': ' + (counts[s] || 0));
          $('severity-counts').textContent = 'Per severity \u2014 ' + parts.join(' \u00b7 ');
        }

        function filtered() {
          const severity = $('f-severity').value;
          const category = $('f-category').value;
          const check = $('f-check').value;
          const search = $('f-search').value.trim().toLowerCase();
          return state.report.issues.filter((issue) =>
            (!severity || issue.severity === severity) &&
            (!category || issue.category === category) &&
            (!check || issue.check === check) &&
            (!search || String(issue.issueId).toLowerCase().includes(search) ||
              String(issue.userId || '').toLowerCase().includes(search)));
        }

        function severityLabel(severity) {
          return el('span', { class: 'sev sev-' + (SEVERITIES.includes(severity) ? severity : 'info'), text: show(severity) });
        }

        function atRiskText(atRisk) {
          if (!atRisk || typeof atRisk !== 'object') return '\u2014';
          const amount = typeof atRisk.credits === 'number' ? atRisk.credits.toLocaleString('en-US') : 'unknown amount';
          return amount + ' (' + show(atRisk.direction).replace('_', ' ') + ')';
        }

        /** What an operator has done to the issue, or what can be done. */
        function stateText(issue) {
          const parts = [];
          if (issue.explanation) parts.push('explained');
          if (issue.acknowledgement) parts.push('acknowledged');
          if (issue.snoozedUntil) parts.push('snoozed until ' + issue.snoozedUntil);
          if (issue.repair && issue.repair.action) parts.push('repairable: ' + issue.repair.action);
          return parts.length ? parts.join('; ') : '\u2014';
        }

        function renderList() {
          const issues = filtered();
          const total = state.report.issues.length;
          const noun = total === 1 ? ' open issue' : ' open issues';
          $('list-count').textContent = issues.length === total
            ? total + noun
            : 'Showing ' + issues.length + ' of ' + total + noun;
          $('issue-rows').replaceChildren(...issues.map((issue) => {
            const open = el('button', { type: 'button', class: 'link issue-link', text: show(issue.issueId) });
            open.addEventListener('click', () => select(issue.issueId, true));
            const row = el('tr', { 'aria-selected': String(issue.issueId === state.selected) },
              el('td', { 'data-label': 'Severity' }, severityLabel(issue.severity)),
              el('td', { 'data-label': 'Issue' }, open, el('span', { class: 'issue-title', text: show(issue.title) }),
                el('span', { class: 'issue-check mono', text: show(issue.check) + ' \u00b7 ' + show(issue.category) })),
              el('td', { 'data-label': 'User', class: 'mono', text: show(issue.userId) }),
              el('td', { 'data-label': 'At risk', text: atRiskText(issue.atRisk) }),
              el('td', { 'data-label': 'State', text: stateText(issue) }));
            row.dataset.issueId = String(issue.issueId);
            row.dataset.severity = String(issue.severity);
            return row;
          }));
          if (issues.length === 0) {
            $('issue-rows').replaceChildren(el('tr', {}, el('td', { colspan: 5, text: 'No open issue matches.' })));
          }
        }

        function currentIssue() {
          if (!state.report || !state.selected) return null;
          return state.report.issues.find((issue) => issue.issueId === state.selected) || null;
        }

        function markSelectedRow() {
          for (const row of $('issue-rows').children) {
            row.setAttribute('aria-selected', String(row.dataset.issueId === state.selected));
          }
        }
        """#
}

/// The triage page's text, shipped inside the binary: no bundle, no CDN, no build step.
///
/// - Important: the page is plain HTML; every value from the API is put in with `textContent` by
///   the script, never parsed as markup.
enum TriagePage {
    /// The script, in parts split along concerns so each Swift file stays small, in one function scope.
    static let script = "(() => {\n" + [scriptCore, scriptList, scriptDetail, scriptActions].joined(separator: "\n") + "\n})();\n"

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>assure: triage</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/assets/triage.css">
        <script src="/assets/triage.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#issues-heading">Skip to the open issues</a>
        <header>
          <h1>Billing assurance: triage</h1>
          <p id="origin-line" class="quiet"></p>
          <div class="header-buttons">
            <button type="button" id="refresh" hidden>Refresh</button>
            <button type="button" id="forget-token" hidden>Forget token</button>
          </div>
        </header>
        <main>
          <section id="login" aria-labelledby="login-heading">
            <h2 id="login-heading">Sign in</h2>
            <form id="token-form">
              <label for="token-input">Admin bearer token</label>
              <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" required>
              <button type="submit">Open</button>
              <p class="quiet">The token stays in this browser tab only and is sent to this worker's API as
                <code>Authorization: Bearer</code>.</p>
            </form>
          </section>
          <div id="refusal" role="alert" hidden></div>

          <section id="summary" aria-labelledby="summary-heading" hidden>
            <h2 id="summary-heading">Summary</h2>
            <dl class="facts">
              <div><dt>Status</dt><dd id="s-status"></dd></div>
              <div><dt>Score</dt><dd id="s-score"></dd></div>
              <div><dt>Alerts</dt><dd id="s-alerts"></dd></div>
              <div><dt>Open issues</dt><dd id="s-open"></dd></div>
              <div><dt>At risk: leakage</dt><dd id="s-leakage"></dd></div>
              <div><dt>At risk: customer harm</dt><dd id="s-harm"></dd></div>
              <div><dt>Held checks</dt><dd id="s-held"></dd></div>
              <div><dt>Release gate</dt><dd id="s-gate"></dd></div>
            </dl>
            <ul id="gate-blockers" aria-label="Release gate blockers"></ul>
          </section>

          <section id="issues" aria-labelledby="issues-heading" hidden>
            <h2 id="issues-heading" tabindex="-1">Open issues</h2>
            <p id="severity-counts"></p>
            <form id="filters" role="search" aria-label="Filter the open issues">
              <label>Severity <select id="f-severity"><option value="">all</option></select></label>
              <label>Category <select id="f-category"><option value="">all</option></select></label>
              <label>Check <select id="f-check"><option value="">all</option></select></label>
              <label>User or issue id <input id="f-search" type="search" autocomplete="off" spellcheck="false"></label>
              <button type="reset" id="f-clear">Clear filters</button>
            </form>
            <p id="list-count" aria-live="polite"></p>
            <div class="scroll">
              <table id="issue-table">
                <caption class="visually-hidden">Open issues in report order: severity, then amount at risk, then id</caption>
                <thead><tr>
                  <th scope="col">Severity</th><th scope="col">Issue, check and category</th>
                  <th scope="col">User</th><th scope="col">At risk</th><th scope="col">State</th>
                </tr></thead>
                <tbody id="issue-rows"></tbody>
              </table>
            </div>
          </section>

          <section id="detail" aria-labelledby="detail-title" hidden>
            <p class="quiet">Selected issue</p>
            <h2 id="detail-title" tabindex="-1"></h2>
            <p id="detail-gone" role="status" hidden></p>
            <dl id="detail-facts" class="pairs"></dl>
            <h3>Evidence</h3>
            <pre id="detail-evidence"></pre>
            <section aria-labelledby="actions-heading">
              <h3 id="actions-heading">Actions</h3>
              <form id="action-form">
                <label for="reason">Reason (required: it goes into the audit row and the issue's history)</label>
                <textarea id="reason" rows="2" spellcheck="true"></textarea>
                <p id="repair-note" class="quiet"></p>
                <div class="buttons">
                  <button type="button" id="btn-dry-run">Repair: dry run</button>
                  <button type="button" id="btn-apply" disabled>Repair: apply</button>
                  <button type="button" id="btn-explain">Explain</button>
                  <button type="button" id="btn-ack">Acknowledge</button>
                </div>
                <fieldset>
                  <legend>Snooze</legend>
                  <label for="snooze-until">Until (your local time; at most 7 days ahead)</label>
                  <input id="snooze-until" type="datetime-local">
                  <button type="button" id="btn-snooze">Snooze</button>
                </fieldset>
              </form>
              <div id="action-result" role="status" aria-live="polite"></div>
            </section>
            <h3>History</h3>
            <div id="history"></div>
            <h3>User timeline</h3>
            <div id="timeline"></div>
          </section>
        </main>
        <footer class="quiet">
          Served by this worker; it calls only <code>/api/admin/billing-assurance</code> on this origin.
        </footer>
        </body>
        </html>
        """#
}

extension TriagePage {
    /// Plain and readable without colour: severity is always a word, colour only repeats it.
    static let style = #"""
        *, *::before, *::after { box-sizing: border-box; }
        html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.45; }
        body { margin: 0; color: #1b1b1b; background: #fafafa; }
        code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.9em; }
        header, main, footer { padding: 0.75rem 1rem; }
        header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.5rem 1rem;
          background: #fff; border-bottom: 2px solid #333; }
        header h1 { font-size: 1.3rem; margin: 0; }
        .header-buttons { margin-left: auto; display: flex; gap: 0.5rem; }
        h2 { font-size: 1.15rem; margin: 0.25rem 0 0.5rem; }
        /* Ids from input records can be long words: break them rather than widen the page. */
        h2, h3, p, li, dd, label, legend { overflow-wrap: anywhere; }
        h3 { font-size: 1rem; margin: 1rem 0 0.35rem; }
        .quiet { color: #555; font-size: 0.9rem; margin: 0; }
        .skip { position: absolute; left: -9999px; }
        .skip:focus { left: 1rem; top: 0.5rem; background: #fff; padding: 0.25rem 0.5rem; z-index: 2; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
          white-space: nowrap; }
        [hidden] { display: none !important; }
        section { background: #fff; border: 1px solid #ccc; border-radius: 4px; padding: 0.75rem; margin-bottom: 1rem;
          min-width: 0; }
        section section { border: 0; padding: 0; margin: 0; }
        button, input, select, textarea { font: inherit; }
        button { padding: 0.3rem 0.7rem; border: 1px solid #333; border-radius: 3px; background: #f0f0f0; color: #111;
          cursor: pointer; }
        button:hover { background: #e2e2e2; }
        button:disabled { color: #777; border-color: #aaa; cursor: not-allowed; }
        :focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
        input, select, textarea { border: 1px solid #666; border-radius: 3px; padding: 0.25rem 0.4rem; background: #fff;
          max-width: 100%; }
        textarea { width: 100%; }
        label { display: inline-block; }
        #token-form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
        #token-form input { min-width: 16rem; flex: 1 1 16rem; }
        #token-form p { flex-basis: 100%; }
        #refusal { border: 2px solid #a40000; background: #fff4f4; padding: 0.75rem; margin-bottom: 1rem;
          font-weight: 600; }
        .facts { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0; }
        .facts > div { border: 1px solid #bbb; border-radius: 3px; padding: 0.35rem 0.6rem; min-width: 9rem;
          flex: 1 1 9rem; }
        .facts dt { font-size: 0.8rem; color: #444; }
        .facts dd { margin: 0; font-size: 1.1rem; font-weight: 600; overflow-wrap: anywhere; }
        #gate-blockers { margin: 0.5rem 0 0; padding-left: 1.2rem; }
        #filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: flex-end; margin-bottom: 0.5rem; }
        #filters label { display: flex; flex-direction: column; font-size: 0.85rem; }
        .scroll { overflow-x: auto; max-width: 100%; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; vertical-align: top; padding: 0.35rem 0.5rem; border-bottom: 1px solid #ddd; }
        th { font-size: 0.85rem; background: #f3f3f3; }
        td { overflow-wrap: break-word; }
        tr[aria-selected="true"] { background: #eef3fb; outline: 2px solid #1a5fb4; }
        button.link { border: 0; background: none; padding: 0; color: #0b4a9e; text-decoration: underline;
          text-align: left; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.9em;
          overflow-wrap: break-word; }
        #issue-table td:nth-child(2) { min-width: 14rem; }
        .issue-check { display: block; font-size: 0.8rem; color: #444; overflow-wrap: anywhere; }
        .issue-title { display: block; font-size: 0.85rem; color: #333; }
        .sev { display: inline-block; font-weight: 700; padding: 0 0.35rem; border: 1px solid #333; border-radius: 3px;
          font-size: 0.85rem; white-space: nowrap; }
        .sev-critical { background: #a40000; color: #fff; border-style: double; border-width: 3px; }
        .sev-error { background: #ffd7d5; color: #5c0000; border-color: #a40000; }
        .sev-warning { background: #fff0c2; color: #4d3800; border-style: dashed; }
        .sev-info { background: #e8eef7; color: #1b2b44; border-style: dotted; }
        .pairs { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: 0.2rem 0.75rem; margin: 0; }
        .pairs dt { font-weight: 600; }
        .pairs dd { margin: 0; overflow-wrap: anywhere; }
        pre { background: #f5f5f5; border: 1px solid #ddd; padding: 0.5rem; overflow-x: auto; white-space: pre-wrap;
          overflow-wrap: anywhere; margin: 0; }
        .buttons { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.5rem 0; }
        fieldset { border: 1px solid #bbb; border-radius: 3px; display: flex; flex-wrap: wrap; gap: 0.5rem;
          align-items: center; }
        #action-result { margin-top: 0.5rem; }
        #action-result:not(:empty) { border: 2px solid #333; border-radius: 3px; padding: 0.5rem; }
        .outcome { font-weight: 700; }
        .outcome-bad { color: #a40000; }
        footer { font-size: 0.85rem; }
        @media (min-width: 1100px) {
          main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(22rem, 32rem); gap: 0 1rem;
            align-items: start; }
          #login, #refusal, #summary { grid-column: 1 / -1; }
          #issues { grid-column: 1; }
          #detail { grid-column: 2; position: sticky; top: 0.5rem; max-height: calc(100vh - 1rem); overflow-y: auto; }
        }
        @media (max-width: 600px) {
          header, main, footer { padding: 0.5rem; }
          .pairs { grid-template-columns: 1fr; }
          .pairs dd { margin-bottom: 0.35rem; }
          th, td { padding: 0.3rem; }
          /* The list as one card per issue, each value under its column's name. */
          #issue-table thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
          #issue-table, #issue-table tbody, #issue-table tr, #issue-table td { display: block; width: 100%; }
          #issue-table tr { border: 1px solid #bbb; border-radius: 3px; margin-bottom: 0.5rem; }
          #issue-table td { border: 0; padding: 0.15rem 0.5rem; }
          #issue-table td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; font-size: 0.8rem; }
        }
        """#
}

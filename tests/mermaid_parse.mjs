// Parses each Mermaid file named on the command line with mermaid's own parser (the one
// mermaid.live and GitHub use); exits 1 on the first that is not a valid flowchart.
// Run by tests/mermaid_parse.sh, which installs mermaid and jsdom into a temporary directory.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

// mermaid sanitises labels with DOMPurify, which needs a DOM: jsdom stands in for a browser.
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    if (!String(result.diagramType).startsWith('flowchart')) {
      throw new Error(`parsed as ${result.diagramType}, not a flowchart`);
    }
    console.log(`mermaid: ${file} parses (${result.diagramType})`);
  } catch (error) {
    console.error(`mermaid: ${file} does not parse: ${error.message}`);
    failed += 1;
  }
}
process.exit(failed === 0 ? 0 : 1);

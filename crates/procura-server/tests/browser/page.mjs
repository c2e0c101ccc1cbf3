// Checks procura-server's HTML pages in a real headless Chromium (Debian's
// `chromium` package) through playwright-core, which downloads no browser.
// Run by crates/procura-server/tests/page_browser.rs; by hand:
//
//   node page.mjs URL sealed  --round ID:PHASE:ROSTER:COMMITMENTS... --page ID
//                             [--revealed ID,ID] --bid BID... [--hidden TEXT...]
//   node page.mjs URL cleared --round ID:PHASE:ROSTER:COMMITMENTS... --page ID
//                             --winners ID,ID --payment ID=CASH... --total-cash CASH
//                             [--revealed ID,ID] [--bid BID...]
//
// Both modes check that the round list at URL/ shows every --round with its
// phase, roster size and commitment count, follow the link to
// URL/rounds/{--page} and check its phase, roster and committed ids there.
// In `sealed` mode the round is not cleared (no outcome is shown) and no
// --bid or --hidden string appears in the DOM text or the HTML
// (page.content()) of either page. In `cleared` mode the round page's
// outcome table shows the --winners in that order, a payment row for each
// --payment, in that order, with its cash as a number equal to CASH, and
// total_cash; any --bid (of a round still sealed) is checked as in `sealed`
// mode.
//
// Options: --chromium PATH (default $PROCURA_CHROMIUM or /usr/bin/chromium).
// Exit status: 0 when every check holds, 1 naming every failed check, 2 on a
// usage error or when the browser cannot be started or a page not loaded.

import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const USAGE =
  "usage: node page.mjs URL sealed|cleared --round ID:PHASE:ROSTER:COMMITMENTS... --page ID " +
  "[--revealed IDS] [--bid BID...] [--hidden TEXT...] [--winners IDS --payment ID=CASH... " +
  "--total-cash CASH] " +
  "[--chromium PATH]";

function usage(message) {
  console.error(`page.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        round: { type: "string", multiple: true, default: [] },
        page: { type: "string" },
        revealed: { type: "string" },
        bid: { type: "string", multiple: true, default: [] },
        hidden: { type: "string", multiple: true, default: [] },
        winners: { type: "string" },
        payment: { type: "string", multiple: true, default: [] },
        "total-cash": { type: "string" },
        chromium: { type: "string" },
      },
    });
  } catch (error) {
    usage(error.message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) usage("expected the server URL and a mode");
  const [url, mode] = positionals;
  if (!/^https?:\/\//.test(url)) usage(`not an http URL: ${url}`);
  if (mode !== "sealed" && mode !== "cleared") usage(`unknown mode: ${mode}`);
  const rounds = values.round.map((text) => {
    const parts = text.split(":");
    if (parts.length !== 4 || !/^\d+$/.test(parts[2]) || !/^\d+$/.test(parts[3])) {
      usage(`--round ${text}: expected ID:PHASE:ROSTER:COMMITMENTS`);
    }
    return { id: parts[0], phase: parts[1], roster: Number(parts[2]), commitments: Number(parts[3]) };
  });
  if (rounds.length === 0) usage("give at least one --round");
  const page = rounds.find((round) => round.id === values.page);
  if (!page) usage("--page must name one of the --round ids");
  const payments = values.payment.map((text) => {
    const at = text.lastIndexOf("=");
    const cash = Number(text.slice(at + 1));
    if (at <= 0 || !Number.isFinite(cash)) usage(`--payment ${text}: expected ID=CASH`);
    return { id: text.slice(0, at), cash };
  });
  const totalCash = values["total-cash"] === undefined ? undefined : Number(values["total-cash"]);
  if (totalCash !== undefined && !Number.isFinite(totalCash)) usage("--total-cash is not a number");
  if (mode === "sealed" && values.bid.length === 0) usage("sealed mode needs the bids (--bid)");
  const outcome = [values.winners, totalCash].some((v) => v !== undefined) || payments.length > 0;
  if (mode === "sealed" && outcome) {
    usage("--winners, --payment and --total-cash belong to cleared mode");
  }
  if (mode === "cleared" && (values.winners === undefined || totalCash === undefined)) {
    usage("cleared mode needs --winners, the --payment rows and --total-cash");
  }
  for (const secret of [...values.bid, ...values.hidden]) {
    if (secret.length < 3) usage(`--bid/--hidden ${secret}: too short to look for without false alarms`);
  }
  return {
    url: url.replace(/\/+$/, ""),
    mode,
    rounds,
    page,
    revealed: values.revealed === undefined ? undefined : ids(values.revealed),
    bids: values.bid,
    hidden: values.hidden,
    winners: values.winners === undefined ? undefined : ids(values.winners),
    payments,
    totalCash,
    chromium: values.chromium ?? process.env.PROCURA_CHROMIUM ?? "/usr/bin/chromium",
  };
}

/** "a, b" → ["a", "b"]; "none" or "" → []. */
function ids(text) {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "none") return [];
  return trimmed.split(",").map((id) => id.trim());
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const args = parse();
const failures = [];
const fail = (message) => failures.push(message);

// Nothing here should take long; a hung browser must not hang the test.
setTimeout(() => {
  console.error("page.mjs: gave up after 120 s (is Chromium hanging?)");
  process.exit(2);
}, 120_000).unref();

/** Loads `path` (or follows `link`) and returns the page's text and HTML. */
async function load(page, path, link) {
  let response;
  if (link) {
    [response] = await Promise.all([page.waitForNavigation(), link.click()]);
  } else {
    response = await page.goto(args.url + path);
  }
  const where = new URL(page.url()).pathname;
  if (where !== path) fail(`expected to be at ${path}, the browser is at ${where}`);
  if (!response || response.status() !== 200) {
    throw new Error(`${path}: HTTP ${response ? response.status() : "no response"}`);
  }
  const text = await page.evaluate(
    () => `${document.body.innerText}\n${document.documentElement.textContent}`,
  );
  const html = await page.content();
  return { text, html };
}

/** No bid (or other sealed text) in the DOM text or the HTML of `path`. */
function sealed(path, { text, html }) {
  for (const bid of args.bids) {
    if (text.includes(bid)) fail(`${path}: the bid ${bid} is in the page's text`);
    if (html.includes(bid)) fail(`${path}: the bid ${bid} is in the page's HTML`);
  }
  for (const secret of args.hidden) {
    if (text.includes(secret) || html.includes(secret)) {
      fail(`${path}: the sealed text ${secret} is in the page`);
    }
  }
}

/** The round list: a row per round with its link, phase, roster size and commitments. */
async function checkList(page) {
  const loaded = await load(page, "/");
  const table = await page.evaluate(() => {
    const tables = [...document.querySelectorAll("table")];
    const list = tables.find((t) =>
      [...t.querySelectorAll("th")].some((th) => th.textContent.trim() === "commitments"),
    );
    if (!list) return null;
    const rows = [...list.rows].map((row) => [...row.cells].map((cell) => cell.textContent.trim()));
    const links = [...list.querySelectorAll("a")].map((a) => ({
      text: a.textContent.trim(),
      href: a.getAttribute("href"),
    }));
    return { header: rows[0], rows: rows.slice(1), links };
  });
  if (!table) {
    fail("/: no table of rounds with a `commitments` column");
    return loaded;
  }
  const column = (name) => {
    const at = table.header.indexOf(name);
    if (at < 0) fail(`/: the round list has no \`${name}\` column (columns: ${table.header.join(", ")})`);
    return at;
  };
  const [id, phase, roster, commitments] = ["round", "phase", "roster", "commitments"].map(column);
  if ([id, phase, roster, commitments].some((at) => at < 0)) return loaded;
  if (table.rows.length !== args.rounds.length) {
    fail(`/: expected ${args.rounds.length} rounds in the list, it shows ${table.rows.length}`);
  }
  for (const round of args.rounds) {
    const row = table.rows.find((cells) => cells[id] === round.id);
    if (!row) {
      fail(`/: round ${round.id} is not in the list`);
      continue;
    }
    const shown = { phase: row[phase], roster: row[roster], commitments: row[commitments] };
    const want = { phase: round.phase, roster: `${round.roster}`, commitments: `${round.commitments}` };
    if (!same(shown, want)) {
      fail(`/: round ${round.id} shows ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}`);
    }
    const link = table.links.find((a) => a.text === round.id);
    if (!link || link.href !== `/rounds/${round.id}`) {
      fail(`/: round ${round.id} does not link to /rounds/${round.id}`);
    }
  }
  return loaded;
}

/** The round's status table, th → td text, and its outcome table if shown. */
async function roundPage(page) {
  return page.evaluate(() => {
    const h1 = document.querySelector("h1");
    const status = document.querySelector("h1 ~ table");
    const fields = {};
    for (const row of status ? status.rows : []) {
      const th = row.querySelector(":scope > th");
      const td = row.querySelector(":scope > td");
      if (th && td) fields[th.textContent.trim()] = td.textContent.trim();
    }
    const heading = [...document.querySelectorAll("h2")].find(
      (h2) => h2.textContent.trim() === "Outcome",
    );
    let outcome = null;
    if (heading) {
      outcome = { fields: {}, payments: null };
      const table = heading.nextElementSibling;
      if (table && table.tagName === "TABLE") {
        for (const row of table.rows) {
          if (row.parentElement.closest("table") !== table) continue;
          const th = row.querySelector(":scope > th");
          const td = row.querySelector(":scope > td");
          if (!th || !td) continue;
          const key = th.textContent.trim();
          outcome.fields[key] = td.textContent.trim();
          const inner = td.querySelector("table");
          if (key === "payments" && inner) {
            const rows = [...inner.rows].map((r) => [...r.cells].map((c) => c.textContent.trim()));
            outcome.payments = { header: rows[0], rows: rows.slice(1) };
          }
        }
      }
    }
    return { title: h1 ? h1.textContent.trim() : "", fields, outcome };
  });
}

async function checkRound(page) {
  const round = args.page;
  const path = `/rounds/${round.id}`;
  const link = page.locator(`a[href="${path}"]`).first();
  const loaded = await load(page, path, (await link.count()) > 0 ? link : undefined);
  const shown = await roundPage(page);
  if (shown.title !== `Round ${round.id}`) fail(`${path}: the heading is "${shown.title}"`);
  if (shown.fields.phase !== round.phase) {
    fail(`${path}: phase ${shown.fields.phase}, expected ${round.phase}`);
  }
  if (shown.fields.roster !== `${round.roster}`) {
    fail(`${path}: roster ${shown.fields.roster}, expected ${round.roster}`);
  }
  const committed = ids(shown.fields.committed ?? "");
  if (committed.length !== round.commitments) {
    fail(`${path}: committed shows ${committed.length} ids (${committed}), expected ${round.commitments}`);
  }
  if (args.revealed && !same([...ids(shown.fields.revealed ?? "")].sort(), [...args.revealed].sort())) {
    fail(`${path}: revealed shows "${shown.fields.revealed}", expected ${args.revealed.join(", ") || "none"}`);
  }
  if (args.mode === "sealed") {
    if (shown.outcome) fail(`${path}: an outcome is shown before the round is cleared`);
  } else {
    checkOutcome(path, shown.outcome);
  }
  return loaded;
}

/** The outcome table: winners, and each winner's payment as a number. */
function checkOutcome(path, outcome) {
  if (!outcome) {
    fail(`${path}: no outcome table under an "Outcome" heading`);
    return;
  }
  const winners = ids(outcome.fields.winners ?? "");
  if (outcome.fields.winners === undefined || !same(winners, args.winners)) {
    fail(`${path}: winners "${outcome.fields.winners}", expected ${args.winners.join(", ")}`);
  }
  const want = args.payments.map((p) => p.id);
  const totalCash = Number(outcome.fields.total_cash);
  if (outcome.fields.total_cash === undefined || totalCash !== args.totalCash) {
    fail(`${path}: total_cash "${outcome.fields.total_cash}", expected ${args.totalCash}`);
  }
  const payments = outcome.payments;
  if (args.payments.length === 0) {
    if (outcome.fields.payments !== "") fail(`${path}: payments "${outcome.fields.payments}", expected none`);
    return;
  }
  if (!payments) {
    fail(`${path}: no payments table in the outcome`);
    return;
  }
  const id = payments.header.indexOf("id");
  const cash = payments.header.indexOf("cash");
  if (id < 0 || cash < 0) {
    fail(`${path}: the payments table has no id and cash columns (${payments.header.join(", ")})`);
    return;
  }
  const paid = payments.rows.map((row) => ({ id: row[id], cash: row[cash] }));
  if (!same(paid.map((p) => p.id), want)) {
    fail(`${path}: payments to ${paid.map((p) => p.id).join(", ")}, expected ${want.join(", ")}`);
  }
  let sum = 0;
  for (const expected of args.payments) {
    const shown = paid.find((p) => p.id === expected.id);
    if (!shown) continue;
    const value = Number(shown.cash);
    if (shown.cash === "" || !Number.isFinite(value)) {
      fail(`${path}: ${expected.id}'s payment "${shown.cash}" is not a number`);
    } else if (value !== expected.cash) {
      fail(`${path}: ${expected.id} is paid ${value}, expected ${expected.cash}`);
    }
    sum += value;
  }
  if (Math.abs(sum - args.totalCash) > 1e-9 * Math.max(1, Math.abs(args.totalCash))) {
    fail(`${path}: the payments add up to ${sum}, total_cash is ${args.totalCash}`);
  }
}

let browser;
try {
  browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ["--no-sandbox"],
    timeout: 60_000,
  });
} catch (error) {
  console.error(`page.mjs: cannot start Chromium at ${args.chromium}: ${error.message}`);
  process.exit(2);
}
let status = 0;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const list = await checkList(page);
  sealed("/", list);
  const round = await checkRound(page);
  sealed(`/rounds/${args.page.id}`, round);
  if (failures.length > 0) {
    console.error(`page.mjs: ${args.mode} checks failed at ${args.url}:`);
    for (const failure of failures) console.error(`  - ${failure}`);
    status = 1;
  } else {
    console.log(
      `page.mjs: ${args.mode}: ${args.rounds.length} round(s) listed, /rounds/${args.page.id} ` +
        `as expected${args.bids.length > 0 ? `, none of ${args.bids.length} bid(s) in the pages` : ""} ` +
        `(${browser.version()})`,
    );
  }
} catch (error) {
  console.error(`page.mjs: ${error.message}`);
  if (failures.length > 0) console.error(`  and: ${failures.join("\n  and: ")}`);
  status = 2;
} finally {
  await browser.close();
}
process.exit(status);

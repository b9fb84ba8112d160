// Placeledger's web app for planners: one page that talks to /graphql with the token the
// person signed in with (held for this browser session only), under the API's own access
// rules. Every asset is served by Placeledger itself; nothing is fetched from elsewhere.

const TOKEN_KEY = "placeledger.token";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  viewer: null,
};

// ---- talking to the API ----------------------------------------------------------------

/** An error the API answered with: its words and its stable code. */
class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

let pending = 0;

/** Shows "Loading…" while anything takes more than a moment. */
function busy(delta) {
  pending += delta;
  const el = document.getElementById("busy");
  if (pending > 0) {
    clearTimeout(busy.timer);
    busy.timer = setTimeout(() => { el.hidden = pending === 0; }, 150);
  } else {
    clearTimeout(busy.timer);
    el.hidden = true;
  }
}

async function gql(query, variables = {}) {
  busy(+1);
  try {
    const res = await fetch("/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${state.token}`,
      },
      body: JSON.stringify({ query, variables }),
    });
    let body;
    try {
      body = await res.json();
    } catch {
      throw new ApiError(`the server answered ${res.status}`, `HTTP_${res.status}`);
    }
    if (body.errors && body.errors.length) {
      const e = body.errors[0];
      throw new ApiError(e.message, (e.extensions && e.extensions.code) || "ERROR");
    }
    return body.data;
  } finally {
    busy(-1);
  }
}

function showError(e) {
  const el = document.getElementById("error");
  if (!e) {
    el.hidden = true;
    el.textContent = "";
    return;
  }
  el.replaceChildren(
    document.createTextNode(e.message + " "),
    h("code", {}, `(${e.code || "ERROR"})`),
  );
  el.hidden = false;
}

// ---- a little DOM ------------------------------------------------------------------------

/** An element with attributes (`on…` are listeners) and children (strings or nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) el.append(c);
  }
  return el;
}

const number = new Intl.NumberFormat("en-GB");
const pounds = new Intl.NumberFormat("en-GB", {
  style: "currency", currency: "GBP", maximumFractionDigits: 0,
});

/** A figure as people read it: `–` where there is none. */
function show(v, format = number) {
  return v === null || v === undefined ? "–" : format.format(Number(v));
}

// ---- exports ---------------------------------------------------------------------------

/** A CSV file's text: a header row, then rows; fields quoted where they need it. */
function toCsv(header, rows) {
  const field = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(field).join(",")).join("\r\n") + "\r\n";
}

/** Marks `el` as holding a table for the page's workbook: {name, columns, rows, note}. */
function exportTable(el, name, columns, rows, note) {
  el.exportTable = { name, columns, rows, note };
  return el;
}

/** The tables marked in `parts` (page elements and everything in them), in page order. */
function tablesIn(parts) {
  return parts
    .filter((p) => p instanceof Element)
    .flatMap((p) => [p, ...p.querySelectorAll("*")])
    .filter((el) => el.exportTable)
    .map((el) => el.exportTable);
}

/** Asks the server to make the page's tables an .xlsx workbook, and saves it. */
async function downloadWorkbook(title, exportsOfPage) {
  busy(+1);
  try {
    const notes = [
      `${title}: exported from Placeledger on ${new Date().toISOString().slice(0, 10)}.`,
      ...exportsOfPage.map((t) => `${t.name}: ${t.note}`),
    ];
    const res = await fetch("/export.xlsx", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${state.token}` },
      body: JSON.stringify({ sheets: exportsOfPage.map(({ name, columns, rows }) => ({ name, columns, rows })), notes }),
    });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      const e = (body.errors && body.errors[0]) || {};
      throw new ApiError(e.message || `the server answered ${res.status}`,
        (e.extensions && e.extensions.code) || `HTTP_${res.status}`);
    }
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: `${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.xlsx` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    showError(e);
  } finally {
    busy(-1);
  }
}

/** A link that downloads `rows` (raw figures, not as shown) as `name`.csv. */
function csvLink(name, header, rows) {
  const url = URL.createObjectURL(new Blob([toCsv(header, rows)], { type: "text/csv" }));
  return h("a", { class: "download", href: url, download: `${name}.csv` }, `Download ${name}.csv`);
}

// ---- charts ------------------------------------------------------------------------------

/**
 * A small line chart of `series` ({label, values, format}) over `years`, with the same
 * figures in a table under it (the chart's text alternative). `data-series` and
 * `data-points` say what was drawn.
 */
function chart({ id, title, caption, years, series, format = number, bands, csv }) {
  const plot = h("div", { class: "plot", "aria-hidden": "true" });
  const table = h(
    "table",
    { id: `${id}-table` },
    h("caption", { class: "source" }, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "January"),
      series.map((s) => h("th", { scope: "col" }, s.label)))),
    h("tbody", {}, years.map((y, i) => h("tr", {},
      h("th", { scope: "row" }, String(y)),
      series.map((s) => h("td", {}, show(s.values[i], s.format || format)))))),
  );
  const figure = h(
    "figure",
    {
      class: "chart",
      id,
      "data-series": String(series.length),
      "data-points": String(years.length),
    },
    h("h2", {}, title),
    h("figcaption", {}, caption),
    plot,
    h("details", { class: "table-alt" }, h("summary", {}, "The figures as a table"), table),
    csvLink(csv || id.replace(/^chart-/, ""), ["year", ...series.map((s) => s.label)],
      years.map((y, i) => [y, ...series.map((s) => s.values[i])])),
  );
  exportTable(figure, title, ["year", ...series.map((s) => s.label)],
    years.map((y, i) => [y, ...series.map((s) => s.values[i])]), caption);
  const colours = ["#0b4f8a", "#c0392b", "#1d6b32", "#6c3483"];
  const draw = () => {
    const width = Math.max(320, Math.min(600, plot.clientWidth || 560));
    // The chart stays reachable from its element (`plot.uplot`): what was drawn can be read.
    // eslint-disable-next-line no-undef
    plot.uplot = new uPlot({
      width,
      height: 220,
      legend: { live: false },
      bands,
      scales: { x: { time: false } },
      axes: [
        // Whole years (or years ahead) only.
        { incrs: [1, 2, 5, 10], values: (u, ticks) => ticks.map((t) => String(t)) },
        { size: 70, values: (u, ticks) => ticks.map((t) => (format === pounds ? `£${number.format(t / 1e6)}m` : number.format(t))) },
      ],
      series: [
        { label: "January" },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.stroke || colours[i % colours.length],
          width: 2,
          points: { show: true },
          dash: s.dash,
        })),
      ],
    }, [years, ...series.map((s) => s.values.map((v) => (v === null ? null : Number(v))))], plot);
  };
  // Drawn once the figure is in the page (uPlot measures it).
  requestAnimationFrame(draw);
  return figure;
}

// ---- pages -------------------------------------------------------------------------------

function signInPage() {
  const input = h("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", required: true,
  });
  const form = h(
    "form",
    {
      class: "sign-in",
      onsubmit: async (ev) => {
        ev.preventDefault();
        state.token = input.value.trim();
        try {
          await loadViewer();
          sessionStorage.setItem(TOKEN_KEY, state.token);
          const target = state.viewer.role === "PARTNER" ? "#/partner" : "#/overview";
          if (location.hash === target) route();
          else location.hash = target;
        } catch (e) {
          state.token = null;
          showError(e);
        }
      },
    },
    h("label", { for: "token" }, "Your Placeledger token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    h("p", { class: "source" },
      "The token is kept for this browser tab only and forgotten when it closes. ",
      "Administrators make tokens with ", h("code", {}, "placeledger token create"),
      "; ", h("code", {}, "make run"), " prints one per role."),
  );
  return [h("h1", {}, "Sign in"), form];
}

async function loadViewer() {
  const data = await gql("{ viewer { role authority } }");
  state.viewer = data.viewer;
  const who = document.getElementById("who-text");
  const role = state.viewer.role.toLowerCase();
  who.textContent = state.viewer.authority
    ? `Signed in: ${role}, authority ${state.viewer.authority}`
    : `Signed in: ${role}, every authority`;
  document.getElementById("who").hidden = false;
  const nav = document.getElementById("nav");
  nav.hidden = false;
  const partner = state.viewer.role === "PARTNER";
  for (const a of nav.querySelectorAll("a[data-for]")) {
    a.hidden = partner !== (a.dataset.for === "partner");
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.viewer = null;
  document.getElementById("who").hidden = true;
  document.getElementById("nav").hidden = true;
  if (location.hash === "#/sign-in") route();
  else location.hash = "#/sign-in";
}

const MEASURES = `query($authority: String!, $from: Int, $to: Int) {
  countyMeasures(authority: $authority, fromYear: $from, toYear: $to) {
    year source plans publishedPlans plansGrowthPercent inMainstream mainstreamSharePercent
    independentSpecial outOfAuthority outOfAuthorityAnnualCost
  }
}`;

async function overviewPage(params) {
  const own = state.viewer.authority;
  const authority = params.get("authority") || own || "888";
  const to = Number(params.get("to")) || new Date().getFullYear();
  const from = Number(params.get("from")) || to - 11;
  const controls = controlsForm("overview", {},
    h("label", {}, "Authority (DfE code)",
      h("input", { name: "authority", value: authority, size: 5, readonly: own ? true : undefined })),
    h("label", {}, "From January", h("input", { name: "from", type: "number", value: from, min: 1990, max: 2100 })),
    h("label", {}, "To January", h("input", { name: "to", type: "number", value: to, min: 1990, max: 2100 })));
  const data = await gql(MEASURES, { authority, from, to });
  const rows = data.countyMeasures.filter((r) => r.plans > 0 || r.publishedPlans !== null);
  const years = rows.map((r) => r.year);
  const col = (f) => rows.map(f);
  const SOURCES = {
    recorded_children: "the children on record",
    published_tables: "DfE's published tables only (no children recorded)",
    none: "nothing on record",
  };
  const bySource = (src) => rows.filter((r) => r.source === src).map((r) => r.year);
  const sources = [...new Set(rows.map((r) => r.source))].map((src) => {
    const ys = bySource(src);
    const run = ys.length > 1 && ys[ys.length - 1] - ys[0] === ys.length - 1;
    return `${SOURCES[src] || src} (${run ? `${ys[0]}-${ys[ys.length - 1]}` : ys.join(", ")})`;
  }).join("; ");
  return [
    h("h1", {}, `Overview: authority ${authority}`),
    h("p", { class: "lede" },
      "The measures the county watches, January by January. Recorded figures are counted ",
      "from the children on record; DfE's are the published SEN2 totals. ",
      `Figures from ${sources || "nothing on record"}.`),
    controls,
    h("div", { class: "grid" },
      chart({
        id: "chart-plans",
        title: "EHC plans in force",
        caption: "On each January census day: recorded, and as DfE published it (SEN2).",
        years,
        series: [
          { label: "Recorded", values: col((r) => (r.source === "none" ? null : r.plans)) },
          { label: "DfE published", values: col((r) => r.publishedPlans), dash: [6, 4] },
        ],
      }),
      chart({
        id: "chart-mainstream",
        title: "Share in mainstream (%)",
        caption: "Plans placed in state-funded mainstream schools, including resourced provision and SEN units.",
        years,
        series: [{ label: "In mainstream (%)", values: col((r) => r.mainstreamSharePercent) }],
        format: new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1 }),
      }),
      chart({
        id: "chart-placements",
        title: "Independent special and out of authority",
        caption: "Children placed in independent or non-maintained special schools, and at settings of another authority.",
        years,
        series: [
          { label: "Independent or non-maintained special", values: col((r) => r.independentSpecial) },
          { label: "Out of authority", values: col((r) => r.outOfAuthority) },
        ],
      }),
      chart({
        id: "chart-cost",
        title: "Cost of out-of-authority placements a year",
        caption: "At the authority's costs in force on each census day (placements of a kind with no cost on record are left out).",
        years,
        series: [{ label: "Annual cost", values: col((r) => r.outOfAuthorityAnnualCost), format: pounds }],
        format: pounds,
      }),
    ),
  ];
}

const KINDS = [
  ["special", "Special school places"],
  ["resourced_provision", "Resourced provision and SEN units"],
  ["alternative_provision", "Alternative provision"],
  ["independent", "Independent and non-maintained special"],
  ["mainstream", "Mainstream"],
  ["specialist_post_16", "Specialist post-16"],
  ["fe_college", "FE and sixth form colleges"],
];
const PHASES = [["primary", "Primary"], ["secondary", "Secondary"], ["post_16", "Post-16"], ["nursery", "Nursery"]];

const SUFFICIENCY = `query($f: ForecastFilter!) {
  forecast(filter: $f) {
    origin
    rows { year need demand { p10 p50 p90 } capacity surplus { p50 }
           warnings { code message } }
    warnings { code message }
  }
}`;

/**
 * The choices of a page: "Show" goes to `page` with the form's fields (and `fixed`) in the
 * address, so every view can be bookmarked and the back button works.
 */
function controlsForm(page, fixed, ...fields) {
  return h("form", {
    class: "controls",
    onsubmit: (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams({ ...fixed, ...Object.fromEntries(new FormData(ev.target)) });
      location.hash = `#/${page}?${q}`;
    },
  }, ...fields, h("button", { type: "submit" }, "Show"));
}

function select(name, label, options, value) {
  return h("label", {}, label, h("select", { name },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
}

const MAINSTREAM = `query($f: MainstreamFilter!) {
  mainstreamForecast(filter: $f) {
    origin
    rows { planningArea planningAreaName year pupils { p10 p50 p90 } netCapacity
           surplus { p50 } headroom warnings { code message } }
  }
}`;

/**
 * Mainstream pupils against net capacity per planning area of a district and phase (the SCAP
 * view): one fan chart per planning area, its deficits and warnings.
 */
async function mainstreamAreas(authority, district, districtName, phase, to) {
  if (phase === "nursery") {
    return [h("p", { class: "source", id: "mainstream-none" },
      "Mainstream places are planned by planning area for primary, secondary and post-16.")];
  }
  const { mainstreamForecast } = await gql(MAINSTREAM, { f: { authority, district, phase } });
  const shown = mainstreamForecast.rows.filter((r) => r.year <= to);
  if (mainstreamForecast.rows.length && !shown.length) {
    return [h("p", { class: "source", id: "mainstream-none" },
      `The mainstream forecast starts from January ${mainstreamForecast.origin}: `
      + `it has no January up to ${to}.`)];
  }
  const areas = [...new Map(shown.map((r) => [r.planningArea, r.planningAreaName]))];
  if (!areas.length) {
    return [h("p", { class: "source", id: "mainstream-none" },
      `No ${phase.replace("_", "-")} planning area of ${districtName} has census rolls on record.`)];
  }
  const figures = areas.map(([code, name]) => {
    const rows = shown.filter((r) => r.planningArea === code);
    const short = rows.filter((r) => r.headroom === "deficit" || r.headroom === "below_headroom");
    const warnings = [...new Map(rows.flatMap((r) => r.warnings)
      .filter((w) => w.code !== "deficit")
      .map((w) => [w.code, w.message]))];
    const figure = chart({
      id: `chart-mainstream-${code}`,
      title: name,
      caption: `Pupils on roll (P10, median, P90) in the planning area's ${phase.replace("_", "-")} `
        + `schools against their net capacity, forecast from January ${mainstreamForecast.origin}.`,
      years: rows.map((r) => r.year),
      csv: `mainstream-${code}`,
      series: [
        { label: "P10", values: rows.map((r) => r.pupils.p10), stroke: "#7fa6c9", dash: [4, 4] },
        { label: "Median", values: rows.map((r) => r.pupils.p50), stroke: "#0b4f8a" },
        { label: "P90", values: rows.map((r) => r.pupils.p90), stroke: "#7fa6c9", dash: [4, 4] },
        { label: "Net capacity", values: rows.map((r) => r.netCapacity), stroke: "#1d6b32" },
      ],
      bands: [{ series: [3, 1], fill: "rgba(11, 79, 138, 0.12)" }],
    });
    figure.classList.add("mainstream-area");
    figure.dataset.planningArea = code;
    const notes = [
      short.length ? h("p", { class: "warning" },
        `Under 2% of places spare (or short) in ${short.map((r) => r.year).join(", ")}.`) : null,
      warnings.length ? h("ul", { class: "warnings" },
        warnings.map(([c, m]) => h("li", {}, h("code", {}, c), " ", m))) : null,
    ].filter(Boolean);
    figure.querySelector("figcaption").after(...notes);
    return figure;
  });
  return [h("div", { class: "grid", id: "mainstream-areas" }, figures)];
}

async function sufficiencyPage(params) {
  const own = state.viewer.authority;
  const authority = params.get("authority") || own || "888";
  const { authorities } = await gql("{ authorities { code name districts { code name } } }");
  const info = authorities.find((a) => a.code === authority);
  if (!info) throw new ApiError(`there is no authority ${authority}`, "NOT_FOUND");
  const district = params.get("district") || info.districts[0].code;
  const phase = params.get("phase") || "primary";
  const kind = params.get("kind") || "special";
  const need = params.get("need") || "";
  const { forecast } = await gql(SUFFICIENCY, {
    f: { authority, district, phase, kind, need: need || null },
  });
  // The horizon shown: up to a January of the planner's choice (all of it by default).
  const horizon = [...new Set(forecast.rows.map((r) => r.year))].sort((a, b) => a - b);
  const to = horizon.includes(Number(params.get("to"))) ? Number(params.get("to"))
    : horizon[horizon.length - 1];
  const rows = forecast.rows
    .filter((r) => (need ? r.need === need : r.need === null))
    .filter((r) => r.year <= to);
  const years = rows.map((r) => r.year);
  const districtName = info.districts.find((d) => d.code === district)?.name || district;
  const kindName = KINDS.find(([k]) => k === kind)?.[1] || kind;
  const controls = controlsForm("sufficiency", { authority },
    select("district", "District", info.districts.map((d) => [d.code, d.name]), district),
    select("phase", "Phase", PHASES, phase),
    select("kind", "Kind of place", KINDS, kind),
    select("need", "Primary need", [["", "All needs"], ...["ASD", "SEMH", "SLCN", "MLD", "SLD",
      "PMLD", "SPLD", "HI", "VI", "MSI", "PD", "OTH"].map((n) => [n, n])], need),
    select("to", "Up to January", horizon.map((y) => [String(y), String(y)]), String(to)));
  const deficits = rows.filter((r) => r.surplus && r.surplus.p50 < 0);
  const mainstream = await mainstreamAreas(authority, district, districtName, phase, to);
  const warnings = forecast.warnings.map((w) => h("li", {}, h("code", {}, w.code), " ", w.message));
  return [
    h("h1", {}, `Sufficiency: ${districtName}`),
    h("p", { class: "lede" },
      `Demand for ${kindName.toLowerCase()} (${phase.replace("_", "-")}${need ? `, ${need}` : ""}) `,
      `against the places in the district's settings, forecast from January ${forecast.origin}: `,
      "the median, and the range 8 runs in 10 fall inside (P10 to P90)."),
    controls,
    deficits.length
      ? h("p", { class: "warning", id: "deficits" },
        `Deficit (median demand over capacity) in ${deficits.map((r) => r.year).join(", ")}.`)
      : null,
    warnings.length ? h("ul", { class: "warnings" }, warnings) : null,
    chart({
      id: "chart-sufficiency",
      title: `${kindName}, ${phase.replace("_", "-")}`,
      caption: "Children needing a place (P10, median, P90) and the places there are.",
      years,
      csv: `sufficiency-${district}-${phase}-${kind}${need ? `-${need}` : ""}`,
      series: [
        { label: "P10", values: rows.map((r) => r.demand.p10), stroke: "#7fa6c9", dash: [4, 4] },
        { label: "Median", values: rows.map((r) => r.demand.p50), stroke: "#0b4f8a" },
        { label: "P90", values: rows.map((r) => r.demand.p90), stroke: "#7fa6c9", dash: [4, 4] },
        { label: "Capacity", values: rows.map((r) => r.capacity), stroke: "#1d6b32" },
      ],
      bands: [{ series: [3, 1], fill: "rgba(11, 79, 138, 0.12)" }],
    }),
    h("h2", {}, `Mainstream places by planning area: ${districtName}, ${phase.replace("_", "-")}`),
    ...mainstream,
  ];
}

const METHODS = [
  ["model", "Placeledger's forecast"],
  ["compound_growth", "Compound growth"],
  ["linear_trend", "Linear trend"],
  ["last_value", "Last value"],
];

const BACKTEST = `query($authority: String, $scope: BacktestScope!, $horizon: Int!) {
  backtest(authority: $authority, scope: $scope, horizon: $horizon) {
    authority horizon method origins originYears forecasts authorities mape medianApe bias
    coverage
  }
}`;

/** One track record (an authority's, or pooled over all) as a chart and a table. */
function trackRecord(id, title, caption, lines) {
  const horizons = [...new Set(lines.map((l) => l.horizon))].sort((a, b) => a - b);
  const of = (method, hz) => lines.find((l) => l.method === method && l.horizon === hz);
  const methods = METHODS.filter(([m]) => lines.some((l) => l.method === m));
  const pct = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1, signDisplay: "negative" });
  const figure = chart({
    id,
    title,
    caption,
    years: horizons,
    csv: id.replace(/^chart-/, ""),
    series: methods.map(([m, label]) => ({
      label: `${label}: MAPE %`,
      values: horizons.map((hz) => of(m, hz)?.mape ?? null),
      format: pct,
    })),
  });
  // Years ahead, not Januaries, along the bottom.
  figure.querySelector("thead th").textContent = "Years ahead";
  const model = horizons.map((hz) => of("model", hz)).filter(Boolean);
  const detail = h("table", { id: `${id}-model` },
    h("caption", { class: "source" }, "The forecast's own errors by years ahead."),
    h("thead", {}, h("tr", {}, ["Years ahead", "Forecasts", "MAPE %", "Bias %",
      "Inside P10-P90 %"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, model.map((l) => h("tr", {},
      h("th", { scope: "row" }, String(l.horizon)),
      h("td", {}, show(l.forecasts)),
      h("td", {}, show(l.mape, pct)),
      h("td", {}, show(l.bias, pct)),
      h("td", {}, l.coverage === null ? "–" : pct.format(l.coverage * 100))))));
  figure.append(detail);
  return figure;
}

const PAST_FORECASTS = `query($authority: String!, $horizon: Int!) {
  backtestForecasts(authority: $authority, horizon: $horizon) {
    origin horizon year method forecast actual errorPercent p10 p90 inside
  }
}`;

/**
 * The forecasts made from one past origin (the last January they saw) beside what came:
 * the model's median and P10-P90, the three baselines, and the actual Januaries.
 */
function pastForecasts(authority, rows, origin) {
  const origins = [...new Set(rows.map((r) => r.origin))].sort((a, b) => a - b);
  const at = rows.filter((r) => r.origin === origin);
  // Every January any origin was scored on, so the actual line runs past this origin's.
  const actual = new Map(rows.map((r) => [r.year, r.actual]));
  const years = [...actual.keys()].sort((a, b) => a - b);
  const of = (method, key) => years.map((y) => {
    const r = at.find((x) => x.method === method && x.year === y);
    return r ? r[key] : null;
  });
  const pct = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1, signDisplay: "exceptZero" });
  const controls = controlsForm("track-record", {},
    select("origin", "Forecast made from January", origins.map((o) => [String(o), String(o)]), String(origin)));
  const figure = chart({
    id: "chart-track-past",
    title: `Forecast from January ${origin} against what came`,
    caption: `${authority}'s plans in force: the forecast made with what was known in January ${origin} `
      + "(median and P10-P90), the three baselines, and the actual Januaries.",
    years,
    csv: `past-forecasts-${authority}-${origin}`,
    series: [
      { label: "Actual", values: years.map((y) => actual.get(y)), stroke: "#111111" },
      { label: "P10", values: of("model", "p10"), stroke: "#7fa6c9", dash: [4, 4] },
      { label: "Forecast (median)", values: of("model", "forecast"), stroke: "#0b4f8a" },
      { label: "P90", values: of("model", "p90"), stroke: "#7fa6c9", dash: [4, 4] },
      ...METHODS.filter(([m]) => m !== "model").map(([m, label], i) => ({
        label, values: of(m, "forecast"), stroke: ["#c0392b", "#1d6b32", "#6c3483"][i], dash: [2, 3],
      })),
    ],
    bands: [{ series: [4, 2], fill: "rgba(11, 79, 138, 0.12)" }],
  });
  figure.dataset.origin = String(origin);
  const header = ["origin", "year", "horizon", "method", "forecast", "actual", "error_percent", "p10", "p90", "inside"];
  const misses = exportTable(h("table", { id: "track-past-table" },
    h("caption", { class: "source" },
      `Every forecast from January ${origin}, as backtestForecasts gives them.`),
    h("thead", {}, h("tr", {}, ["January", "Years ahead", "Method", "Forecast", "Actual",
      "Error %", "Inside P10-P90"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, at.map((r) => h("tr", {},
      h("th", { scope: "row" }, String(r.year)),
      h("td", {}, String(r.horizon)),
      h("td", { class: "words" }, METHODS.find(([m]) => m === r.method)?.[1] || r.method),
      h("td", {}, show(Math.round(r.forecast))),
      h("td", {}, show(r.actual)),
      h("td", {}, show(r.errorPercent, pct)),
      h("td", {}, r.inside === null ? "–" : r.inside ? "yes" : "no"))))),
  `Forecasts from ${origin}`, header, at.map((r) => header.map((k) => r[k === "error_percent" ? "errorPercent" : k])),
  `backtestForecasts of ${authority}, origin ${origin}`);
  figure.append(misses, csvLink(`forecasts-from-${authority}-${origin}`, header,
    at.map((r) => header.map((k) => r[k === "error_percent" ? "errorPercent" : k]))));
  return [controls, figure];
}

async function trackRecordPage(params) {
  const own = state.viewer.authority || "888";
  const [{ backtest }, { backtestForecasts }] = await Promise.all([
    gql(BACKTEST, { authority: own, scope: "AUTHORITY", horizon: 5 }),
    gql(PAST_FORECASTS, { authority: own, horizon: 5 }),
  ]);
  const origins = [...new Set(backtestForecasts.map((r) => r.origin))].sort((a, b) => a - b);
  const origin = Number(params.get("origin")) || origins[0];
  const grid = h("div", { class: "grid" },
    trackRecord("chart-track-own", `Authority ${own}`,
      `Forecasts of ${own}'s plans in force from every past January with enough history.`,
      backtest));
  const parts = [
    h("h1", {}, "Track record"),
    h("p", { class: "lede" },
      "How far the forecast missed when it was made from past Januaries with only what was ",
      "known then, beside three forecasts a planner could make on a calculator. ",
      "MAPE is the mean absolute percentage error."),
    grid,
  ];
  if (state.viewer.role !== "PARTNER") {
    const pooled = await gql(BACKTEST, { authority: null, scope: "ALL", horizon: 3 });
    const n = Math.max(0, ...pooled.backtest.map((l) => l.authorities));
    grid.append(trackRecord("chart-track-all", "Every authority in Placeledger",
      `Pooled over ${n} authorities and the origins ${pooled.backtest[0]?.originYears.join(", ") || "–"}.`,
      pooled.backtest));
  }
  if (origins.length) {
    parts.push(h("h2", {}, "Past forecasts against what came"),
      ...pastForecasts(own, backtestForecasts, origins.includes(origin) ? origin : origins[0]));
  }
  return parts;
}

const SHARED = `query($authority: String!) {
  sharedPlaceData(authority: $authority) {
    authority position
    cells { district districtName year phase kind demand capacity suppressed }
  }
}`;

async function partnerPage(params) {
  const authority = params.get("authority") || "888";
  const { sharedPlaceData } = await gql(SHARED, { authority });
  // One January at a time: the whole horizon is thousands of rows.
  const years = [...new Set(sharedPlaceData.cells.map((c) => c.year))].sort((a, b) => a - b);
  const year = Number(params.get("year")) || years[0];
  const cells = sharedPlaceData.cells.filter((c) => c.year === year);
  const header = ["district", "year", "phase", "kind", "demand", "capacity", "suppressed"];
  const controls = controlsForm("partner", {},
    h("label", {}, "Authority sharing with you (DfE code)",
      h("input", { name: "authority", value: authority, size: 5 })),
    select("year", "January", years.map((y) => [String(y), String(y)]), String(year)));
  return [
    h("h1", {}, `Shared by authority ${authority}`),
    h("p", { class: "lede" },
      "What the data-sharing agreement lets a partner see: forecast medians by district, ",
      "phase and kind of place. Counts of 1 to 4, and any count that would give one away, ",
      "are withheld (–), exactly as the API withholds them."),
    controls,
    exportTable(h("table", { id: "shared-table" },
      h("caption", { class: "source" }, `Publication at event ${sharedPlaceData.position}.`),
      h("thead", {}, h("tr", {}, ["District", "January", "Phase", "Kind", "Demand",
        "Capacity", "Withheld"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, cells.map((c) => h("tr", {},
        h("th", { scope: "row" }, c.districtName),
        h("td", {}, String(c.year)), h("td", {}, c.phase), h("td", {}, c.kind),
        h("td", {}, show(c.demand)), h("td", {}, show(c.capacity)),
        h("td", {}, c.suppressed ? "yes" : ""))))),
    `Shared by ${authority} ${year}`, header, cells.map((c) => header.map((k) => c[k])),
    `sharedPlaceData of ${authority} (publication at event ${sharedPlaceData.position}); withheld counts are empty`),
    csvLink(`shared-${authority}-${year}`, header, cells.map((c) => header.map((k) => c[k]))),
  ];
}

const SCENARIOS = `query($authority: String) {
  scenarios(authority: $authority) { id name author base createdOn levers }
}`;
const COMPARE = `query($scenario: String!) {
  compareScenarios(scenario: $scenario) {
    scenario totalCost capitalCost
    costByYear { year annualCost }
    changes { district year phase kind need demand capacity surplus annualCost
              deficitBefore deficitAfter }
  }
}`;
/** The kinds of place a new setting can offer (the domain's provision kinds), as planners say them. */
const PROVISION_KINDS = [
  ["special_la_maintained", "LA-maintained special school"],
  ["special_academy_free", "special academy or free school"],
  ["mainstream_la_maintained_resourced_provision", "resourced provision in an LA-maintained school"],
  ["mainstream_academy_resourced_provision", "resourced provision in an academy"],
  ["mainstream_la_maintained_senunit", "SEN unit in an LA-maintained school"],
  ["mainstream_academy_senunit", "SEN unit in an academy"],
  ["ap_pru_la_maintained", "LA-maintained alternative provision (PRU)"],
  ["ap_pru_academy", "alternative provision academy"],
  ["specialist_post_16_institutions", "specialist post-16 institution"],
  ["mainstream_la_maintained", "LA-maintained mainstream school"],
  ["mainstream_academy", "mainstream academy"],
];

/** The fields of one kind of lever, and how its JSON is made from them (no JSON typing). */
function leverForm(authority, districts, onLever) {
  const field = (name, label, attrs = {}) =>
    h("label", {}, label, h("input", { name, required: true, ...attrs }));
  const kinds = {
    open_places: {
      label: "Open places in a new setting",
      fields: () => [
        select("district", "District", districts.map((d) => [d.code, d.name]), districts[0]?.code),
        select("kind", "Kind of place", PROVISION_KINDS, "special_la_maintained"),
        field("low_age", "From age", { type: "number", min: 0, max: 25, value: 4 }),
        field("high_age", "To age", { type: "number", min: 0, max: 25, value: 11 }),
        field("from", "Open from", { type: "date", value: "2026-09-01" }),
        select("need", "For need", [["", "Any need"], ["ASD", "ASD"], ["SEMH", "SEMH"],
          ["SLCN", "SLCN"], ["SLD", "SLD"], ["PMLD", "PMLD"], ["MLD", "MLD"]], "ASD"),
        field("places", "Places", { type: "number", min: 1, max: 2000, value: 40 }),
      ],
      json: (f) => ({
        lever: "open_places", district: f.get("district"), kind: f.get("kind"),
        low_age: Number(f.get("low_age")), high_age: Number(f.get("high_age")),
        from: f.get("from"),
        places: [f.get("need") ? { need: f.get("need"), places: Number(f.get("places")) }
          : { places: Number(f.get("places")) }],
      }),
    },
    change_places: {
      label: "Expand or reduce a setting",
      fields: () => [
        field("urn", "Setting (URN)", { pattern: "[0-9]{6,8}", size: 8 }),
        field("from", "From", { type: "date", value: "2026-09-01" }),
        field("change", "Places more (or fewer, negative)", { type: "number", value: 20 }),
      ],
      json: (f) => ({ lever: "change_places", urn: f.get("urn"), from: f.get("from"),
        change: Number(f.get("change")) }),
    },
    incidence_multiplier: {
      label: "More or fewer new plans",
      fields: () => [field("multiplier", "Multiplier of new plans", {
        type: "number", step: "0.01", min: "0.5", max: "2", value: "1.10" })],
      json: (f) => ({ lever: "incidence_multiplier", authority, multiplier: String(f.get("multiplier")) }),
    },
  };
  const chooser = select("lever-kind", "Lever", Object.entries(kinds).map(([k, v]) => [k, v.label]),
    "open_places");
  const fields = h("div", { class: "controls", id: "lever-fields" });
  const fill = () => fields.replaceChildren(...kinds[chooser.querySelector("select").value].fields());
  chooser.querySelector("select").addEventListener("change", fill);
  fill();
  return h("form", {
    class: "lever", id: "lever-form",
    onsubmit: (ev) => {
      ev.preventDefault();
      const f = new FormData(ev.target);
      onLever(kinds[f.get("lever-kind")].json(f));
    },
  }, h("h2", {}, "Add a lever"), chooser, fields, h("button", { type: "submit" }, "Add the lever"));
}

/** A lever as a planner would say it (`districts` name the district codes). */
function leverInWords(l, districts) {
  const kind = (k) => PROVISION_KINDS.find(([c]) => c === k)?.[1] || String(k).replaceAll("_", " ");
  const date = (d) => new Date(`${d}T00:00:00Z`).toLocaleDateString("en-GB",
    { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const district = (c) => districts.find((d) => d.code === c)?.name || c;
  const who = (a) => (a ? `authority ${a}` : "every authority");
  const pct = (p) => `${Number(p)}%`;
  switch (l.lever) {
    case "open_places": {
      const places = (l.places || []).map((p) => `${number.format(p.places)}${p.need ? ` ${p.need}` : ""}`);
      return `Open ${places.join(" and ")} places (${kind(l.kind)}) in `
        + `${district(l.district)}, ages ${l.low_age} to ${l.high_age}, from ${date(l.from)}`;
    }
    case "change_places":
      return `${l.change >= 0 ? "Expand" : "Reduce"} setting ${l.urn} by `
        + `${number.format(Math.abs(l.change))} places from ${date(l.from)}`;
    case "close_setting":
      return `Close setting ${l.urn} on ${date(l.on)}`;
    case "shift_new_plans":
      return `${pct(l.percent)} of new ${l.need} plans for ages ${l.ages.from} to ${l.ages.to} `
        + `go to ${kind(l.to)}`;
    case "incidence_multiplier":
      return `New plans ${Number(l.multiplier)} times the trend for ${who(l.authority)}`;
    case "reduce_out_of_county_at_transfer":
      return `${pct(l.percent)} of children who would go to independent special schools at `
        + `transfer are placed in ${who(l.authority)}'s special schools`;
    case "change_cost":
      return `A place (${kind(l.kind)}) costs ${pounds.format(Number(l.annual_cost))} a year for `
        + `authority ${l.authority} from ${date(l.from)}`;
    default:
      return JSON.stringify(l);
  }
}

async function scenariosPage(params) {
  const authority = state.viewer.authority || params.get("authority") || "888";
  const mayPlan = state.viewer.role === "PLANNER" || state.viewer.role === "ADMIN";
  const [{ scenarios }, { authorities }] = await Promise.all([
    gql(SCENARIOS, { authority }),
    gql("{ authorities { code districts { code name } } }"),
  ]);
  const districts = authorities.find((a) => a.code === authority)?.districts || [];
  const chosen = params.get("scenario");
  const list = h("table", { id: "scenario-list" },
    h("caption", { class: "source" }, `Scenarios of authority ${authority}.`),
    h("thead", {}, h("tr", {}, ["Scenario", "Name", "Levers", "Made by", "On"].map((t) =>
      h("th", { scope: "col" }, t)))),
    h("tbody", {}, scenarios.map((s) => h("tr", {},
      h("th", { scope: "row" }, h("a", { href: `#/scenarios?scenario=${s.id}` }, s.id)),
      h("td", {}, s.name), h("td", {}, String(s.levers.length)), h("td", {}, s.author),
      h("td", {}, s.createdOn)))));
  const parts = [
    h("h1", {}, "Scenarios"),
    h("p", { class: "lede" }, "A scenario is the baseline forecast with levers pulled: places ",
      "opened or closed, more or fewer new plans, costs changed. Compare one with the baseline ",
      "to see the cells that change and what it costs."),
    list,
  ];
  if (mayPlan) {
    parts.push(h("form", {
      class: "controls", id: "create-form",
      onsubmit: async (ev) => {
        ev.preventDefault();
        const f = new FormData(ev.target);
        try {
          await gql(`mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version } }`,
            { i: { id: f.get("id"), name: f.get("name"), authority } });
          location.hash = `#/scenarios?scenario=${encodeURIComponent(f.get("id"))}`;
        } catch (e) {
          showError(e);
        }
      },
    },
    h("label", {}, "Scenario id (lower case, digits, hyphens)",
      h("input", { name: "id", required: true, pattern: "[a-z0-9\\-]+", size: 20 })),
    h("label", {}, "Name", h("input", { name: "name", required: true, size: 30 })),
    h("button", { type: "submit" }, "Create a scenario")));
  }
  const scenario = scenarios.find((s) => s.id === chosen);
  if (scenario) {
    parts.push(h("h2", {}, `${scenario.name} (${scenario.id})`),
      h("ul", { id: "levers" }, scenario.levers.map((l) => h("li", {}, leverInWords(l, districts)))));
    if (mayPlan) {
      parts.push(leverForm(authority, districts, async (lever) => {
        try {
          await gql(`mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }`,
            { i: { scenario: scenario.id, lever } });
          route();
        } catch (e) {
          showError(e);
        }
      }));
    }
    if (scenario.levers.length) {
      const { compareScenarios: c } = await gql(COMPARE, { scenario: scenario.id });
      const gbp = pounds;
      parts.push(
        h("p", { id: "scenario-cost" },
          `Against the baseline: ${gbp.format(Number(c.totalCost))} over the horizon in running costs, `,
          `${gbp.format(Number(c.capitalCost))} capital.`),
        chart({
          id: "chart-scenario-cost",
          title: "Change in annual cost",
          caption: "The scenario's cost a year less the baseline's.",
          years: c.costByYear.map((y) => y.year),
          csv: `scenario-${scenario.id}-cost`,
          series: [{ label: "Change in cost", values: c.costByYear.map((y) => y.annualCost) }],
          format: pounds,
        }),
        h("table", { id: "scenario-changes" },
          h("caption", { class: "source" }, "Cells that change (after less before)."),
          h("thead", {}, h("tr", {}, ["District", "January", "Phase", "Kind", "Need", "Demand",
            "Capacity", "Surplus", "Deficit before", "Deficit after"].map((t) =>
            h("th", { scope: "col" }, t)))),
          h("tbody", {}, c.changes.filter((x) => x.need === null).map((x) => h("tr", {},
            h("th", { scope: "row" }, x.district), h("td", {}, String(x.year)),
            h("td", {}, x.phase), h("td", {}, x.kind), h("td", {}, "all"),
            h("td", {}, show(x.demand)), h("td", {}, show(x.capacity)), h("td", {}, show(x.surplus)),
            h("td", {}, x.deficitBefore ? "yes" : "no"), h("td", {}, x.deficitAfter ? "yes" : "no"))))),
      );
    }
  }
  return parts;
}

const REPORT = `query($a: String!, $from: Int, $to: Int) {
  countyMeasures(authority: $a, fromYear: $from, toYear: $to) {
    year source plans publishedPlans plansGrowthPercent mainstreamSharePercent
    outOfAuthority outOfAuthorityAnnualCost
  }
  forecast(filter: { authority: $a }) {
    origin runs seed position
    caseload { year plans { p10 p50 p90 } basis }
    totals { year kind demand capacity annualCost }
    warnings { code message }
  }
}`;

/** The cabinet report: the key figures, two charts and where every figure came from. */
async function reportPage(params) {
  const authority = state.viewer.authority || params.get("authority") || "888";
  const to = new Date().getFullYear();
  const { countyMeasures, forecast } = await gql(REPORT, { a: authority, from: to - 9, to });
  const known = countyMeasures.filter((m) => m.source !== "none");
  const last = known[known.length - 1];
  const ahead = (n) => forecast.caseload.find((c) => c.year === forecast.origin + n);
  const special = forecast.totals.filter((t) => t.kind === "special");
  const firstDeficit = special.find((t) => t.capacity !== null && t.demand > t.capacity);
  const cost = forecast.totals.filter((t) => t.year === forecast.origin + 1)
    .reduce((sum, t) => sum + (t.annualCost === null ? 0 : Number(t.annualCost)), 0);
  const key = [
    ["Plans in force", last ? `${show(last.plans)} in January ${last.year}` : "–",
      last ? `${last.source === "recorded_children" ? "counted from the children on record" : "DfE's published total"}${last.plansGrowthPercent ? `, ${last.plansGrowthPercent}% on the year before` : ""}` : ""],
    ["Forecast in three years", ahead(3) ? `${show(ahead(3).plans.p50)} (${show(ahead(3).plans.p10)} to ${show(ahead(3).plans.p90)})` : "–",
      `January ${forecast.origin + 3}, median and the range 8 runs in 10 fall inside`],
    ["Forecast in five years", ahead(5) ? `${show(ahead(5).plans.p50)} (${show(ahead(5).plans.p10)} to ${show(ahead(5).plans.p90)})` : "–",
      `January ${forecast.origin + 5}`],
    ["Special school places", firstDeficit ? `short from January ${firstDeficit.year}` : "enough over the horizon",
      firstDeficit ? `${show(firstDeficit.demand)} children needing one against ${show(firstDeficit.capacity)} places` : "median demand within capacity every year"],
    ["Cost of placements a year", pounds.format(cost), `January ${forecast.origin + 1}, at the costs on record (children educated elsewhere are not costed)`],
  ];
  // One x per January: recorded where known, the forecast's range from its origin on (a
  // January both recorded and forecast shows both).
  const years = [...new Set([...known.map((m) => m.year), ...forecast.caseload.map((c) => c.year)])]
    .sort((x, y) => x - y);
  const recordedIn = new Map(known.map((m) => [m.year, m.plans]));
  const forecastIn = new Map(forecast.caseload.map((c) => [c.year, c.plans]));
  const recorded = years.map((y) => recordedIn.get(y) ?? null);
  const fan = (k) => years.map((y) => {
    if (forecastIn.has(y)) return forecastIn.get(y)[k];
    return y === forecast.origin ? recordedIn.get(y) ?? null : null;
  });
  return [
    h("h1", {}, `Sufficiency of places for children with EHC plans: authority ${authority}`),
    h("p", { class: "lede" }, `A summary for cabinet, made ${new Date().toISOString().slice(0, 10)}. `,
      h("button", { type: "button", class: "print", onclick: () => window.print() }, "Print")),
    h("table", { id: "key-figures", class: "key" },
      h("caption", { class: "source" }, "The key figures."),
      h("tbody", {}, key.map(([k, v, note]) => h("tr", {},
        h("th", { scope: "row" }, k), h("td", {}, v), h("td", { class: "note" }, note))))),
    h("div", { class: "grid" },
      chart({
        id: "chart-report-plans",
        title: "EHC plans in force: recorded and forecast",
        caption: `Recorded each January; forecast from January ${forecast.origin} (P10, median, P90).`,
        years,
        series: [
          { label: "Recorded", values: recorded },
          { label: "Forecast P10", values: fan("p10"), stroke: "#7fa6c9", dash: [4, 4] },
          { label: "Forecast median", values: fan("p50"), stroke: "#0b4f8a", dash: [8, 3] },
          { label: "Forecast P90", values: fan("p90"), stroke: "#7fa6c9", dash: [4, 4] },
        ],
        bands: [{ series: [4, 2], fill: "rgba(11, 79, 138, 0.12)" }],
      }),
      chart({
        id: "chart-report-special",
        title: "Special school places: demand and capacity",
        caption: "Children needing a special school place (median) and the places in the authority's special schools.",
        years: special.map((t) => t.year),
        series: [
          { label: "Demand", values: special.map((t) => t.demand) },
          { label: "Places", values: special.map((t) => t.capacity), stroke: "#1d6b32" },
        ],
      })),
    h("h2", {}, "Where the figures come from"),
    h("ul", { id: "sources", class: "sources" },
      h("li", {}, `Recorded figures: Placeledger's event log at position ${forecast.position}, `,
        "counted from the children on record (countyMeasures)."),
      h("li", {}, "DfE's figures: Education, health and care plans (SEN2), as imported."),
      h("li", {}, `Forecast: from January ${forecast.origin}, ${forecast.runs} runs, seed ${forecast.seed}; `,
        "its method and national track record are in FORECAST.md."),
      forecast.warnings.map((w) => h("li", {}, "Warning ", h("code", {}, w.code), `: ${w.message}`))),
  ];
}

const PAGES = {
  "sign-in": signInPage,
  report: reportPage,
  scenarios: scenariosPage,
  overview: overviewPage,
  sufficiency: sufficiencyPage,
  "track-record": trackRecordPage,
  partner: partnerPage,
};

/** Each navigation's number: a slow page that finishes after a newer one is not shown. */
let navigation = 0;

async function route() {
  const mine = ++navigation;
  showError(null);
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const params = new URLSearchParams(query || "");
  let name = path || "overview";
  if (!state.token) name = "sign-in";
  const main = document.getElementById("main");
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    if (state.token && !state.viewer) await loadViewer();
    // A partner sees only what agreements share: its pages are the partner view.
    const partner = state.viewer && state.viewer.role === "PARTNER";
    if (partner && name !== "partner") name = "partner";
    const page = PAGES[name] || PAGES.overview;
    const parts = (await page(params)).filter((x) => x !== null && x !== undefined);
    if (mine !== navigation) return;
    const tables = tablesIn(parts);
    if (tables.length && name !== "sign-in") {
      const title = parts[0] && parts[0].textContent ? parts[0].textContent : "Placeledger";
      parts.splice(1, 0, h("p", { class: "exports" }, h("button", {
        type: "button", id: "download-xlsx",
        onclick: () => downloadWorkbook(title, tables),
      }, `Download the page's ${tables.length} table(s) as Excel (.xlsx)`)));
    }
    main.replaceChildren(...parts.filter((x) => x !== null && x !== undefined));
    main.dataset.page = name;
  } catch (e) {
    if (mine !== navigation) return;
    if (e.code === "UNAUTHENTICATED") {
      signOut();
    }
    showError(e);
  }
}

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();

//! A partner authority's analyst attacking what the agreement publishes, with the partner
//! token and nothing else: every grouping the API offers, asked in every order, then
//! differencing across all of them (peeling single unknowns, a linear solve over every
//! published equation, bounds from non-negative counts) and across publications over time.
//! No withheld count may come out exact.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Database, Server, Ws, code};

const DIMS: [(&str, &str); 5] = [
    ("DISTRICT", "district"),
    ("KIND", "kind"),
    ("NEED", "need"),
    ("NCY", "ncy"),
    ("LOCATION", "location"),
];

/// A grouping: which of [`DIMS`] it groups by, as a bit set.
type Grouping = u8;
/// A cell's values on its grouping's dimensions, in [`DIMS`] order.
type Key = Vec<String>;
/// Every table received: grouping -> cell -> the published count (`None`: withheld).
type Seen = BTreeMap<Grouping, BTreeMap<Key, Option<i64>>>;

fn dims_of(g: Grouping) -> Vec<usize> {
    (0..DIMS.len()).filter(|i| g & (1 << i) != 0).collect()
}

/// The cell of `c` (a JSON cell of a placement summary) at grouping `g`.
fn key_of(c: &Value, g: Grouping) -> Key {
    dims_of(g)
        .into_iter()
        .map(|i| c[DIMS[i].1].as_str().unwrap_or("(none)").to_owned())
        .collect()
}

/// `key` (at `fine`) projected on `coarse`, whose dimensions are a subset.
fn project(key: &Key, fine: Grouping, coarse: Grouping) -> Key {
    dims_of(fine)
        .into_iter()
        .zip(key)
        .filter(|(i, _)| coarse & (1 << i) != 0)
        .map(|(_, v)| v.clone())
        .collect()
}

const SUMMARY: &str = "query($a: String!, $g: [PlacementDimension!]!) {
    placementSummary(authority: $a, groupBy: $g) {
      suppressed total cells { district kind need ncy location count } } }";

/// Asks for `a`'s placements by every grouping, in two orders each; keeps what is answered.
/// Checks every cell has the same value whatever grouping and order it came in.
async fn ask_everything(server: &Server, token: &str, a: &str) -> Seen {
    let mut seen = Seen::new();
    for g in 0..(1u8 << DIMS.len()) {
        let names: Vec<&str> = dims_of(g).into_iter().map(|i| DIMS[i].0).collect();
        let mut reversed = names.clone();
        reversed.reverse();
        let mut answers = Vec::new();
        for order in [names, reversed] {
            let (_, body) = server
                .gql(Some(token), SUMMARY, json!({ "a": a, "g": order }))
                .await;
            if body["errors"].is_array() {
                assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
                continue;
            }
            let s = &body["data"]["placementSummary"];
            let mut table = BTreeMap::new();
            for c in s["cells"].as_array().unwrap() {
                table.insert(key_of(c, g), c["count"].as_i64());
            }
            if g == 0 {
                table.insert(Vec::new(), s["total"].as_i64());
            }
            answers.push(table);
        }
        if let Some(first) = answers.first() {
            assert!(
                answers.iter().all(|t| t == first),
                "grouping {g:05b} differs by order"
            );
            seen.insert(g, first.clone());
        }
    }
    seen
}

/// What the attacker pins down: each withheld cell recovered, with the value it must have.
pub fn attack(seen: &Seen) -> BTreeMap<(Grouping, Key), i64> {
    // Unknowns: the withheld cells. Equations: every coarse cell is the sum of the cells of
    // a grouping with one more dimension that fall in it (absent cells are zeros).
    let mut unknown: BTreeMap<(Grouping, Key), usize> = BTreeMap::new();
    for (g, t) in seen {
        for (k, v) in t {
            if v.is_none() {
                let n = unknown.len();
                unknown.insert((*g, k.clone()), n);
            }
        }
    }
    // sum(coefficient x unknown) = constant
    let mut equations: Vec<(BTreeMap<usize, i64>, i64)> = Vec::new();
    for (coarse, ct) in seen {
        for (fine, ft) in seen {
            if fine & coarse != *coarse || dims_of(*fine).len() != dims_of(*coarse).len() + 1 {
                continue;
            }
            let mut parts: BTreeMap<Key, Vec<&Key>> = BTreeMap::new();
            for k in ft.keys() {
                parts.entry(project(k, *fine, *coarse)).or_default().push(k);
            }
            for (ck, cv) in ct {
                let mut terms = BTreeMap::new();
                let mut constant = 0;
                match cv {
                    Some(v) => constant += v,
                    None => {
                        terms.insert(unknown[&(*coarse, ck.clone())], -1);
                    }
                }
                for fk in parts.get(ck).into_iter().flatten() {
                    match ft[*fk] {
                        Some(v) => constant -= v,
                        None => {
                            terms.insert(unknown[&(*fine, (*fk).clone())], 1);
                        }
                    }
                }
                if !terms.is_empty() {
                    equations.push((terms, constant));
                }
            }
        }
    }
    let names: Vec<(Grouping, Key)> = {
        let mut v = vec![(0, Vec::new()); unknown.len()];
        for (name, i) in &unknown {
            v[*i] = name.clone();
        }
        v
    };
    let mut found = BTreeMap::new();
    for (i, v) in peel(&equations)
        .into_iter()
        .chain(solve(&equations, unknown.len()))
        .chain(bounds(&equations, unknown.len()))
    {
        found.insert(names[i].clone(), v);
    }
    found
}

/// Peeling: an equation with one unknown left gives it; substitute and repeat.
fn peel(equations: &[(BTreeMap<usize, i64>, i64)]) -> Vec<(usize, i64)> {
    let mut known: BTreeMap<usize, i64> = BTreeMap::new();
    loop {
        let mut progress = false;
        for (terms, b) in equations {
            let left: Vec<(&usize, &i64)> = terms
                .iter()
                .filter(|(x, _)| !known.contains_key(x))
                .collect();
            if let [(x, c)] = left[..] {
                let rest: i64 = terms
                    .iter()
                    .filter_map(|(y, c)| known.get(y).map(|v| c * v))
                    .sum();
                known.insert(*x, (b - rest) / c);
                progress = true;
            }
        }
        if !progress {
            return known.into_iter().collect();
        }
    }
}

const P: i128 = 2_305_843_009_213_693_951; // 2^61 - 1

fn inv(a: i128) -> i128 {
    let (mut base, mut e, mut acc) = (a.rem_euclid(P), P - 2, 1i128);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * base % P;
        }
        base = base * base % P;
        e >>= 1;
    }
    acc
}

/// A linear solve over every equation at once (Gauss-Jordan over GF(2^61 - 1), exact for
/// these small integer systems): every unknown whose row reduces to it alone.
fn solve(equations: &[(BTreeMap<usize, i64>, i64)], n: usize) -> Vec<(usize, i64)> {
    let mut rows: Vec<Vec<i128>> = equations
        .iter()
        .map(|(terms, b)| {
            let mut r = vec![0i128; n + 1];
            for (x, c) in terms {
                r[*x] = i128::from(*c).rem_euclid(P);
            }
            r[n] = i128::from(*b).rem_euclid(P);
            r
        })
        .collect();
    let mut pivots = Vec::new();
    let mut at = 0;
    for col in 0..n {
        let Some(p) = (at..rows.len()).find(|r| rows[*r][col] != 0) else {
            continue;
        };
        rows.swap(at, p);
        let f = inv(rows[at][col]);
        for x in rows[at].iter_mut() {
            *x = *x * f % P;
        }
        let pivot = rows[at].clone();
        for (i, row) in rows.iter_mut().enumerate() {
            if i != at && row[col] != 0 {
                let f = row[col];
                for (x, p) in row.iter_mut().zip(&pivot) {
                    *x = (*x - f * p % P).rem_euclid(P);
                }
            }
        }
        pivots.push((at, col));
        at += 1;
    }
    pivots
        .into_iter()
        .filter(|(r, _)| rows[*r][..n].iter().filter(|x| **x != 0).count() == 1)
        .map(|(r, col)| {
            let v = rows[r][n];
            let v = if v > P / 2 { v - P } else { v };
            (col, i64::try_from(v).unwrap())
        })
        .collect()
}

/// Bounds: withheld counts are at least 1 (zeros are published); each equation bounds each
/// unknown by the others' bounds, until nothing tightens. An unknown whose bounds meet is
/// pinned.
fn bounds(equations: &[(BTreeMap<usize, i64>, i64)], n: usize) -> Vec<(usize, i64)> {
    const INF: i64 = i64::MAX / 4;
    let mut lo = vec![1i64; n];
    let mut hi = vec![INF; n];
    for _ in 0..100 {
        let mut changed = false;
        for (terms, b) in equations {
            for (x, c) in terms {
                // c*x = b - sum(others)
                let (mut omin, mut omax) = (0i64, 0i64);
                for (y, d) in terms.iter().filter(|(y, _)| *y != x) {
                    let (l, h) = (lo[*y], hi[*y]);
                    if *d > 0 {
                        omin = omin.saturating_add(l);
                        omax = omax.saturating_add(h);
                    } else {
                        omin = omin.saturating_sub(h);
                        omax = omax.saturating_sub(l);
                    }
                }
                let finite = |v: i64| v.abs() < INF / 2;
                let (l, h) = if *c > 0 {
                    (
                        finite(omax).then(|| b - omax),
                        finite(omin).then(|| b - omin),
                    )
                } else {
                    (
                        finite(omin).then(|| omin - b),
                        finite(omax).then(|| omax - b),
                    )
                };
                if let Some(l) = l.filter(|l| *l > lo[*x]) {
                    lo[*x] = l;
                    changed = true;
                }
                if let Some(h) = h.filter(|h| *h < hi[*x]) {
                    hi[*x] = h;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    (0..n)
        .filter(|x| lo[*x] == hi[*x])
        .map(|x| (x, lo[x]))
        .collect()
}

/// The old way, for the attack's own check: each table suppressed on its own (1-4, and the
/// smallest other cell when a table has exactly one withheld).
fn suppress_each_table(seen: &Seen) -> Seen {
    let small = |v: i64| (1..=4).contains(&v);
    seen.iter()
        .map(|(g, t)| {
            let mut out: BTreeMap<Key, Option<i64>> = t
                .iter()
                .map(|(k, v)| (k.clone(), v.filter(|v| !small(*v))))
                .collect();
            let lone = *g != 0 && out.values().filter(|v| v.is_none()).count() == 1;
            let smallest = t
                .iter()
                .filter(|(k, v)| out[*k].is_some() && v.unwrap_or(0) != 0)
                .min_by_key(|(_, v)| v.unwrap_or(0))
                .map(|(k, _)| k.clone());
            if lone && let Some(k) = smallest {
                out.insert(k, None);
            }
            (*g, out)
        })
        .collect()
}

#[tokio::test]
async fn a_partner_recovers_no_withheld_count_by_differencing() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let blackpool = db.token("partner", Some("890"));
    let lancashire = db.token("partner", Some("888"));
    let planner = db.token("planner", Some("888"));
    let mut cube = BTreeSet::new();
    for (token, a) in [
        (&blackpool, "888"),
        (&lancashire, "889"),
        (&lancashire, "890"),
    ] {
        let seen = ask_everything(&server, token, a).await;
        cube = seen.keys().copied().collect();
        // The cube: the total, five one-way tables, four two-way tables.
        assert_eq!(seen.len(), 10, "{a}: {:?}", seen.keys().collect::<Vec<_>>());
        let withheld: usize = seen
            .values()
            .map(|t| t.values().filter(|v| v.is_none()).count())
            .sum();
        assert!(
            withheld > 20,
            "{a}: the seeds have small counts ({withheld})"
        );
        for t in seen.values() {
            assert!(t.values().flatten().all(|v| !(1..=4).contains(v)), "{a}");
        }
        let found = attack(&seen);
        eprintln!(
            "{a}: {withheld} withheld counts in {} cells of 10 tables; recovered by differencing: {}",
            seen.values().map(BTreeMap::len).sum::<usize>(),
            found.len()
        );
        assert!(
            found.is_empty(),
            "{a}: {} of {withheld} withheld counts recovered, e.g. {:?}",
            found.len(),
            found.iter().take(5).collect::<Vec<_>>()
        );
    }
    // The attack is real: on the same tables suppressed one by one (the old way, made here
    // from Lancashire's own figures, the cube's groupings only), it recovers withheld counts
    // exactly.
    let mut full = ask_everything(&server, &planner, "888").await;
    full.retain(|g, _| cube.contains(g));
    let naive = suppress_each_table(&full);
    let found = attack(&naive);
    eprintln!(
        "888 suppressed table by table: {} of {} withheld counts recovered",
        found.len(),
        naive
            .values()
            .map(|t| t.values().filter(|v| v.is_none()).count())
            .sum::<usize>()
    );
    assert!(found.len() >= 20, "the attack found only {}", found.len());
    for ((g, k), v) in &found {
        assert_eq!(full[g][k], Some(*v), "{g:05b} {k:?}");
    }
}

const START: &str = "mutation($i: StartPlacementInput!) { startPlacement(input: $i) { version } }";

/// One more child with a plan placed in Preston today, through the API.
async fn place_a_child(server: &Server, planner: &str, id: &str) {
    let steps = [
        (
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { version } }",
            json!({ "child": id, "authority": "888", "born": "2015-03", "district": crate::PRESTON, "on": "2026-09-01" }),
        ),
        (
            "mutation($i: ChildDateInput!) { requestAssessment(input: $i) { version } }",
            json!({ "child": id, "on": "2026-09-02" }),
        ),
        (
            "mutation($i: DecideAssessmentInput!) { decideAssessment(input: $i) { version } }",
            json!({ "child": id, "on": "2026-09-20", "decision": "assess" }),
        ),
        (
            "mutation($i: IssuePlanInput!) { issuePlan(input: $i) { version } }",
            json!({ "child": id, "on": "2026-11-01", "primaryNeed": "HI" }),
        ),
        (
            START,
            json!({ "child": id, "on": "2026-11-02", "elsewhere": "elective_home_education" }),
        ),
    ];
    for (q, i) in steps {
        let (_, body) = server.gql(Some(planner), q, json!({ "i": i })).await;
        assert!(body["errors"].is_null(), "{q}: {body}");
    }
}

/// A partner's subscription sends publications, at most one per period, never one per
/// placement: a child placed between two publications changes no published count by 1-4.
#[tokio::test]
async fn a_partner_subscription_does_not_show_a_child_arriving() {
    let db = Database::seeded();
    let server = Server::start_with(&db.url, &["--publish-every", "3"]);
    let partner = db.token("partner", Some("890"));
    let planner = db.token("planner", Some("888"));
    let q = "subscription($g: [PlacementDimension!]!) {
               placementsChanged(authority: \"888\", groupBy: $g) {
                 position total cells { district kind need ncy location count } } }";
    let groupings = [
        vec!["DISTRICT"],
        vec!["KIND"],
        vec!["NEED"],
        vec!["NCY"],
        vec!["LOCATION"],
        vec!["DISTRICT", "NEED"],
    ];
    let mut sockets = Vec::new();
    let mut first = Vec::new();
    for (i, g) in groupings.iter().enumerate() {
        let (mut ws, ack) = Ws::connect(
            &server,
            "graphql-transport-ws",
            json!({ "Authorization": format!("Bearer {partner}") }),
        )
        .await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws.subscribe(&i.to_string(), q, json!({ "g": g })).await;
        first.push(ws.data().await["placementsChanged"].clone());
        sockets.push(ws);
    }
    place_a_child(&server, &planner, "E2E-ARRIVES-1").await;
    let mut messages = 0;
    for (i, ws) in sockets.iter_mut().enumerate() {
        // A message only if a published figure changed: wait three periods at most.
        let Some(next) = ws.next_within(Duration::from_secs(10)).await else {
            continue;
        };
        messages += 1;
        assert_eq!(next["type"], "next", "{next}");
        let next = next["payload"]["data"]["placementsChanged"].clone();
        assert!(
            next["position"].as_u64() > first[i]["position"].as_u64(),
            "{next}"
        );
        let cells = |m: &Value| -> BTreeMap<String, Option<i64>> {
            m["cells"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let k = ["district", "kind", "need", "ncy", "location"]
                        .map(|d| c[d].as_str().unwrap_or("-").to_owned())
                        .join("|");
                    (k, c["count"].as_i64())
                })
                .collect()
        };
        let (before, after) = (cells(&first[i]), cells(&next));
        for (k, v) in &after {
            if let (Some(a), Some(Some(b))) = (v, before.get(k)) {
                let d = (a - b).abs();
                assert!(
                    d == 0 || d >= 5,
                    "{:?} {k}: {b} then {a}: a change of {d} shows a child",
                    groupings[i]
                );
            }
        }
        // The cell the child joined is withheld now (or was already).
        let hi = after
            .iter()
            .find(|(k, _)| k.contains("HI") || k.contains("elective_home_education"));
        if let Some((k, v)) = hi {
            assert!(
                v.is_none() || before.get(k) == Some(v),
                "{:?}: {k} published as {v:?} after the child arrived",
                groupings[i]
            );
        }
    }
    // The total moved by one: it is withheld now, so at least that changed.
    assert!(messages >= 1, "no publication followed the change");
    for ws in sockets {
        ws.close().await;
    }
}

/// Shared sufficiency figures: each (year, phase, kind) is a line of districts with its
/// total; differencing the lines and bounding the withheld figures recovers none of them.
#[tokio::test]
async fn shared_place_data_keeps_its_withheld_figures() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let partner = db.token("partner", Some("890"));
    let (_, body) = server
        .gql(
            Some(&partner),
            "{ sharedPlaceData(authority: \"888\") {
                 cells { district year phase kind demand capacity }
                 totals { year phase kind demand capacity } } }",
            json!({}),
        )
        .await;
    let data = &body["data"]["sharedPlaceData"];
    // The true figures, to tell a right guess from a wrong one: Lancashire's own forecast
    // (its all-needs rows are the shared cells).
    let planner = db.token("planner", Some("888"));
    let (_, own) = server
        .gql(
            Some(&planner),
            "{ forecast(filter: { authority: \"888\" }) {
                 rows { district year phase kind need demand { p50 } capacity } } }",
            json!({}),
        )
        .await;
    let mut truth = Truth::new();
    for r in own["data"]["forecast"]["rows"].as_array().unwrap() {
        if !r["need"].is_null() {
            continue;
        }
        let key = |f| {
            (
                r["district"].as_str().unwrap().to_owned(),
                r["year"].as_i64().unwrap(),
                r["phase"].as_str().unwrap().to_owned(),
                r["kind"].as_str().unwrap().to_owned(),
                f,
            )
        };
        *truth.entry(key("demand")).or_default() += r["demand"]["p50"].as_i64().unwrap();
        *truth.entry(key("capacity")).or_default() += r["capacity"].as_i64().unwrap_or(0);
    }
    assert_eq!(
        guesses_knowing_the_method(data, &truth),
        0,
        "withheld figures worked out from the way second cells are chosen"
    );
    assert_eq!(
        guesses_from_other_years(data, &truth),
        0,
        "small withheld figures worked out from other years' figures"
    );

    for figure in ["demand", "capacity"] {
        // One unknown per withheld figure; one equation per line.
        let mut unknowns = 0;
        let mut equations = Vec::new();
        let mut withheld = 0;
        for t in data["totals"].as_array().unwrap() {
            let line = |c: &&Value| {
                c["year"] == t["year"] && c["phase"] == t["phase"] && c["kind"] == t["kind"]
            };
            let mut terms = BTreeMap::new();
            let mut constant = 0;
            match t[figure].as_i64() {
                Some(v) => constant += v,
                None => {
                    terms.insert(unknowns, -1);
                    unknowns += 1;
                }
            }
            for c in data["cells"].as_array().unwrap().iter().filter(line) {
                match c[figure].as_i64() {
                    Some(v) => constant -= v,
                    None => {
                        terms.insert(unknowns, 1);
                        unknowns += 1;
                    }
                }
            }
            withheld += terms.len();
            if !terms.is_empty() {
                equations.push((terms, constant));
            }
        }
        assert!(withheld > 0, "{figure}: the seeds have small figures");
        let found: Vec<(usize, i64)> = peel(&equations)
            .into_iter()
            .chain(solve(&equations, unknowns))
            .chain(bounds(&equations, unknowns))
            .collect();
        assert!(
            found.is_empty(),
            "{figure}: {} of {withheld} withheld figures recovered",
            found.len()
        );
    }
}

/// The true shared figures: (district, year, phase, kind, figure) -> value.
type Truth = BTreeMap<(String, i64, String, String, &'static str), i64>;

/// Right guesses of an attacker who knows how the old method chose its second cell.
fn guesses_knowing_the_method(data: &Value, truth: &Truth) -> usize {
    let mut right_guesses = 0;
    for figure in ["demand", "capacity"] {
        // An attacker who knows how the old method chose its second cell (the smallest other
        // non-zero cell of the line): every withheld cell is either 1-4, or the one second
        // cell, at least 5 and at most the smallest published cell. Every assignment of the
        // line's withheld cells that adds up is tried; a cell with one value in all of them
        // is a guess, counted when it is right.
        for t in data["totals"].as_array().unwrap() {
            let Some(total) = t[figure].as_i64() else {
                continue;
            };
            let cells: Vec<&Value> = data["cells"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    c["year"] == t["year"] && c["phase"] == t["phase"] && c["kind"] == t["kind"]
                })
                .collect();
            let hidden: Vec<&&Value> = cells.iter().filter(|c| c[figure].is_null()).collect();
            let shown: Vec<i64> = cells.iter().filter_map(|c| c[figure].as_i64()).collect();
            let rest = total - shown.iter().sum::<i64>();
            if hidden.is_empty() || hidden.len() > 3 || rest > 200 {
                continue;
            }
            let smallest = shown
                .iter()
                .copied()
                .filter(|v| *v > 0)
                .min()
                .unwrap_or(i64::MAX);
            let fits = |vs: &[i64]| {
                let seconds = vs.iter().filter(|v| **v >= 5).count();
                vs.iter().all(|v| *v >= 1)
                    && seconds <= 1
                    && vs.iter().all(|v| *v <= 4 || *v <= smallest)
            };
            let mut seen: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); hidden.len()];
            let mut tuple = vec![1i64; hidden.len()];
            loop {
                let last = rest - tuple[..hidden.len() - 1].iter().sum::<i64>();
                let n = hidden.len();
                tuple[n - 1] = last;
                if fits(&tuple) {
                    for (i, v) in tuple.iter().enumerate() {
                        seen[i].insert(*v);
                    }
                }
                // Next tuple of the first n-1 values (odometer over 1..=rest).
                let mut i = 0;
                while i + 1 < n {
                    tuple[i] += 1;
                    if tuple[i] <= rest {
                        break;
                    }
                    tuple[i] = 1;
                    i += 1;
                }
                if i + 1 >= n {
                    break;
                }
            }
            for (c, values) in hidden.iter().zip(&seen) {
                if values.len() == 1 {
                    let key = (
                        c["district"].as_str().unwrap().to_owned(),
                        c["year"].as_i64().unwrap(),
                        c["phase"].as_str().unwrap().to_owned(),
                        c["kind"].as_str().unwrap().to_owned(),
                        figure,
                    );
                    if truth.get(&key) == values.first() {
                        right_guesses += 1;
                    }
                }
            }
        }
    }
    right_guesses
}

/// Right guesses of small withheld figures taken from other years' published ones.
fn guesses_from_other_years(data: &Value, truth: &Truth) -> usize {
    let mut right_guesses = 0;
    // Years alike: a district's figure is often the same next year (places are, until some
    // open or close). A withheld cell taken to be its value published in another year leaves
    // one unknown in its line, which the total gives; guesses are counted when right.
    let cells = data["cells"].as_array().unwrap();
    for figure in ["demand", "capacity"] {
        let published: BTreeMap<(&str, &str, &str, i64), i64> = cells
            .iter()
            .filter_map(|c| {
                Some((
                    (
                        c["district"].as_str()?,
                        c["phase"].as_str()?,
                        c["kind"].as_str()?,
                        c["year"].as_i64()?,
                    ),
                    c[figure].as_i64()?,
                ))
            })
            .collect();
        for t in data["totals"].as_array().unwrap() {
            let Some(total) = t[figure].as_i64() else {
                continue;
            };
            let line: Vec<&Value> = cells
                .iter()
                .filter(|c| {
                    c["year"] == t["year"] && c["phase"] == t["phase"] && c["kind"] == t["kind"]
                })
                .collect();
            let hidden: Vec<&&Value> = line.iter().filter(|c| c[figure].is_null()).collect();
            if hidden.len() < 2 {
                continue;
            }
            let year = t["year"].as_i64().unwrap();
            let elsewhere = |c: &Value| {
                let at = |y| {
                    published
                        .get(&(
                            c["district"].as_str().unwrap(),
                            c["phase"].as_str().unwrap(),
                            c["kind"].as_str().unwrap(),
                            y,
                        ))
                        .copied()
                };
                at(year - 1).or_else(|| at(year + 1))
            };
            let known: i64 = line.iter().filter_map(|c| c[figure].as_i64()).sum();
            for (i, target) in hidden.iter().enumerate() {
                let others: Option<i64> = hidden
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, c)| elsewhere(c))
                    .sum();
                let Some(others) = others else {
                    continue;
                };
                let guess = total - known - others;
                let key = (
                    target["district"].as_str().unwrap().to_owned(),
                    year,
                    target["phase"].as_str().unwrap().to_owned(),
                    target["kind"].as_str().unwrap().to_owned(),
                    figure,
                );
                if (1..=4).contains(&guess) && truth.get(&key) == Some(&guess) {
                    right_guesses += 1;
                }
            }
        }
    }
    right_guesses
}

//! Children with plans, in Placeledger's own CSV layout (see the README, "The children file"):
//! what an authority exports from its case-management system to move its history in. One row
//! per placement; a child's own columns (id, month of birth, district, plan dates and needs,
//! cessation) repeat on each of its rows.
//!
//! A child already in Placeledger is passed over whole and counted in the notes: the file
//! moves history in once, and importing it again records nothing. Changes to a recorded
//! child are commands, not imports.

use std::collections::HashMap;

use chrono::NaiveDate;
use placeledger_domain::{
    AssessmentDecision, AuthorityCode, CeaseReason, ChildId, Command, Elsewhere, Facility, GssCode,
    PlacedAt, PlacementEndReason, PrimaryNeed, State, TransferIn, Urn, YearMonth,
};

use crate::table::{Cells, Table, date, list, value};
use crate::{Parsed, Problem};

const REQUIRED: &[&str] = &[
    "child_id",
    "la_code",
    "born",
    "district",
    "plan_issued_on",
    "primary_need",
];
const OPTIONAL: &[&str] = &[
    "requested_on",
    "decided_on",
    "secondary_needs",
    "transferred_in_from",
    "originally_issued_on",
    "placement_urn",
    "facility",
    "educated_elsewhere",
    "placement_start",
    "placement_end",
    "placement_end_reason",
    "ceased_on",
    "cease_reason",
];

/// A child's own facts, as every one of its rows must give them.
#[derive(Debug, Clone, PartialEq)]
struct Child {
    id: ChildId,
    authority: AuthorityCode,
    born: YearMonth,
    district: GssCode,
    requested: Option<NaiveDate>,
    decided: Option<NaiveDate>,
    issued: NaiveDate,
    need: PrimaryNeed,
    secondary: Vec<PrimaryNeed>,
    transfer: Option<TransferIn>,
    ceased: Option<(NaiveDate, CeaseReason)>,
}

#[derive(Debug, Clone)]
struct Placement {
    line: u64,
    at: PlacedAt,
    start: NaiveDate,
    end: Option<(NaiveDate, PlacementEndReason)>,
}

/// Reads a children file against what Placeledger already holds.
pub fn parse(file: &str, bytes: &[u8], state: &State) -> Result<Parsed, Vec<Problem>> {
    parse_table(&Table::read(file, bytes)?, state)
}

/// [`parse`] of a table already read (the CLI reads it with a progress bar).
pub fn parse_table(table: &Table, state: &State) -> Result<Parsed, Vec<Problem>> {
    let columns = table.columns(REQUIRED, OPTIONAL)?;
    let mut problems = Vec::new();
    let mut order: Vec<ChildId> = Vec::new();
    let mut children: HashMap<ChildId, (u64, Child, Vec<Placement>)> = HashMap::new();
    for row in &table.rows {
        let mut c = Cells::new(table, row, &columns);
        let id = c.required("child_id", |t| value(ChildId::parse(t)));
        let authority = c.required("la_code", |t| value(AuthorityCode::parse(t)));
        let born = c.required("born", |t| value(YearMonth::parse(t)));
        let district = c.required("district", |t| value(GssCode::parse(t)));
        let requested = c.optional("requested_on", date);
        let decided = c.optional("decided_on", date);
        let issued = c.required("plan_issued_on", date);
        let need = c.required("primary_need", |t| value(PrimaryNeed::parse(t)));
        let secondary = c.optional("secondary_needs", |t| {
            list(t).map(|n| value(PrimaryNeed::parse(n))).collect()
        });
        let from = c.optional("transferred_in_from", |t| Ok(t.to_owned()));
        let original = c.optional("originally_issued_on", date);
        let urn = c.optional("placement_urn", |t| value(Urn::parse(t)));
        let facility = c.optional("facility", |t| value(Facility::parse(t)));
        let elsewhere = c.optional("educated_elsewhere", |t| value(Elsewhere::parse(t)));
        let start = c.optional("placement_start", date);
        let end = c.optional("placement_end", date);
        let end_reason = c.optional("placement_end_reason", |t| {
            value(PlacementEndReason::parse(t))
        });
        let ceased = c.optional("ceased_on", date);
        let reason = c.optional("cease_reason", |t| value(CeaseReason::parse(t)));

        let transfer = transfer_of(&mut c, from, original);
        if matches!(transfer, Some(None)) {
            for (col, v) in [("requested_on", requested), ("decided_on", decided)] {
                if v == Some(None) {
                    c.problem(col, "is required unless the plan was transferred in".into());
                }
            }
        }
        let ceased = ceased_of(&mut c, ceased, reason);
        let placement = placement_of(
            &mut c,
            row.line,
            (urn, elsewhere, start, end, end_reason, facility),
        );
        let fields = (
            id, authority, born, district, requested, decided, issued, need, secondary, transfer,
            ceased, placement,
        );
        let (
            Some(id),
            Some(authority),
            Some(born),
            Some(district),
            Some(requested),
            Some(decided),
            Some(issued),
            Some(need),
            Some(secondary),
            Some(transfer),
            Some(ceased),
            Some(placement),
        ) = fields
        else {
            problems.append(&mut c.problems);
            continue;
        };
        let child = Child {
            id: id.clone(),
            authority,
            born,
            district,
            requested,
            decided,
            issued,
            need,
            secondary: secondary.unwrap_or_default(),
            transfer,
            ceased,
        };
        match children.get_mut(&id) {
            Some((line, earlier, placements)) => {
                if *earlier != child {
                    c.problem("child_id", format!("{id} is described differently on line {line}: a child's own columns repeat on each of its rows"));
                } else if let Some(p) = placement {
                    if let Some(q) = placements.iter().find(|q| q.start == p.start) {
                        c.problem(
                            "placement_start",
                            format!(
                                "duplicate row: {id}'s placement from {} is already on line {}",
                                p.start, q.line
                            ),
                        );
                    } else {
                        placements.push(p);
                    }
                }
            }
            None => {
                order.push(id.clone());
                children.insert(id, (row.line, child, placement.into_iter().collect()));
            }
        }
        problems.append(&mut c.problems);
    }

    let mut parsed = Parsed {
        commands: Vec::new(),
        lines: Vec::new(),
        rows: table.rows.len(),
        notes: Vec::new(),
    };
    let mut already = 0;
    for id in order {
        let Some((line, child, mut placements)) = children.remove(&id) else {
            continue;
        };
        if state.children.contains_key(&id) {
            already += 1;
            continue;
        }
        placements.sort_by_key(|p| p.start);
        for pair in placements.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if a.end.is_none_or(|(end, _)| end > b.start) {
                problems.push(table.problem(
                    b.line,
                    "placement_start",
                    format!("{id}'s placement from {} overlaps the one from {} (line {}): a child has one placement at a time", b.start, a.start, a.line),
                ));
            }
        }
        for (line, command) in commands_of(&id, line, &child, &placements) {
            parsed.commands.push(command);
            parsed.lines.push(line);
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(problems);
    }
    if already > 0 {
        parsed.notes.push(format!(
            "passed over {already} children already recorded in Placeledger (changes to a recorded child are commands, not imports)"
        ));
    }
    Ok(parsed)
}

/// A plan transferred in from another authority: both columns or neither.
fn transfer_of(
    c: &mut Cells<'_>,
    from: Option<Option<String>>,
    original: Option<Option<NaiveDate>>,
) -> Option<Option<TransferIn>> {
    match (from, original) {
        (Some(Some(from)), Some(Some(on))) => Some(Some(TransferIn {
            from_authority: from,
            originally_issued_on: on,
        })),
        (Some(Some(_)), Some(None)) => {
            c.problem(
                "originally_issued_on",
                "is required for a plan transferred in".into(),
            );
            None
        }
        (Some(None), Some(Some(_))) => {
            c.problem(
                "transferred_in_from",
                "is required with originally_issued_on".into(),
            );
            None
        }
        (Some(None), Some(None)) => Some(None),
        _ => None,
    }
}

/// A plan that ceased: the date and the reason, both or neither.
fn ceased_of(
    c: &mut Cells<'_>,
    ceased: Option<Option<NaiveDate>>,
    reason: Option<Option<CeaseReason>>,
) -> Option<Option<(NaiveDate, CeaseReason)>> {
    match (ceased, reason) {
        (Some(Some(on)), Some(Some(r))) => Some(Some((on, r))),
        (Some(Some(_)), Some(None)) => {
            c.problem("cease_reason", "is required with ceased_on".into());
            None
        }
        (Some(None), Some(Some(_))) => {
            c.problem("ceased_on", "is required with cease_reason".into());
            None
        }
        (Some(None), Some(None)) => Some(None),
        _ => None,
    }
}

/// A row's placement columns as read (`None`: unreadable; `Some(None)`: empty): URN,
/// educated elsewhere, start, end, end reason, facility.
type PlacementCells = (
    Option<Option<Urn>>,
    Option<Option<Elsewhere>>,
    Option<Option<NaiveDate>>,
    Option<Option<NaiveDate>>,
    Option<Option<PlacementEndReason>>,
    Option<Option<Facility>>,
);

/// The row's placement, if it has one: at a setting or elsewhere, from a start, perhaps to
/// an end.
fn placement_of(c: &mut Cells<'_>, line: u64, cells: PlacementCells) -> Option<Option<Placement>> {
    match cells {
        (Some(urn), Some(elsewhere), Some(start), Some(end), Some(end_reason), Some(facility)) => {
            let at = match (urn, elsewhere) {
                (Some(urn), None) => Some(PlacedAt::Setting { urn, facility }),
                (None, Some(elsewhere)) => Some(PlacedAt::Elsewhere { elsewhere }),
                (Some(_), Some(_)) => {
                    c.problem(
                        "educated_elsewhere",
                        "a placement is at a setting (placement_urn) or elsewhere, not both".into(),
                    );
                    None
                }
                (None, None) => None,
            };
            match (at, start, end) {
                (None, None, None) => Some(None),
                (Some(at), Some(start), end) => {
                    if end.is_some_and(|e| e < start) {
                        c.problem("placement_end", "is before placement_start".into());
                        None
                    } else {
                        Some(Some(Placement {
                            line,
                            at,
                            start,
                            end: end.map(|e| (e, end_reason.unwrap_or(PlacementEndReason::Other))),
                        }))
                    }
                }
                (None, Some(_), _) => {
                    c.problem(
                        "placement_urn",
                        "a placement needs placement_urn or educated_elsewhere".into(),
                    );
                    None
                }
                (_, None, _) => {
                    c.problem("placement_start", "is required for a placement".into());
                    None
                }
            }
        }
        _ => None,
    }
}

/// The commands that record one child of the file: registered, assessed (unless the plan
/// was transferred in), the plan issued, each placement started and ended, the plan ceased;
/// each with the line it came from.
fn commands_of(
    id: &ChildId,
    line: u64,
    child: &Child,
    placements: &[Placement],
) -> Vec<(u64, Command)> {
    let mut out = Vec::new();
    let mut push = |line: u64, command: Command| out.push((line, command));
    let registered = [child.requested, Some(child.issued)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(child.issued);
    push(
        line,
        Command::RegisterChild {
            child: id.clone(),
            authority: child.authority.clone(),
            born: child.born,
            district: child.district.clone(),
            on: registered,
        },
    );
    if child.transfer.is_none()
        && let (Some(requested), Some(decided)) = (child.requested, child.decided)
    {
        push(
            line,
            Command::RequestAssessment {
                child: id.clone(),
                on: requested,
            },
        );
        push(
            line,
            Command::DecideAssessment {
                child: id.clone(),
                on: decided,
                decision: AssessmentDecision::Assess,
            },
        );
    }
    push(
        line,
        Command::IssuePlan {
            child: id.clone(),
            on: child.issued,
            primary_need: child.need,
            secondary_needs: child.secondary.clone(),
            transfer_in: child.transfer.clone(),
        },
    );
    for p in placements {
        push(
            p.line,
            Command::StartPlacement {
                child: id.clone(),
                on: p.start,
                placed_at: p.at,
            },
        );
        if let Some((on, reason)) = p.end {
            push(
                p.line,
                Command::EndPlacement {
                    child: id.clone(),
                    on,
                    reason,
                },
            );
        }
    }
    if let Some((on, reason)) = child.ceased {
        push(
            line,
            Command::CeasePlan {
                child: id.clone(),
                on,
                reason,
            },
        );
    }
    out
}

//! The caseload projection: hand-counted examples, and folding in any split of batches (with
//! the state saved and loaded at each split, as the runner will) equals folding at once.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::NaiveDate;
use placeledger_caseload::{Caseload, Cell};
use placeledger_domain::*;
use placeledger_projection::{Projection, fold_with_restarts};
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const DISTRICTS: &[(&str, &str)] = &[
    ("E07000117", "888"),
    ("E07000122", "888"),
    ("E06000008", "889"),
];

/// Two authorities, three districts, a mainstream academy and a maintained special school.
fn geography() -> Vec<Command> {
    let mut out = vec![];
    for (la, gss) in [("888", "E10000017"), ("889", "E06000008")] {
        out.push(Command::RegisterAuthority {
            authority: AuthorityCode::parse(la).unwrap(),
            gss: GssCode::parse(gss).unwrap(),
            name: la.into(),
        });
    }
    for (gss, la) in DISTRICTS {
        out.push(Command::RegisterDistrict {
            district: GssCode::parse(gss).unwrap(),
            authority: AuthorityCode::parse(la).unwrap(),
            name: (*gss).into(),
        });
    }
    for (urn, kind) in [
        ("119001", SettingKind::MainstreamAcademy),
        ("119002", SettingKind::SpecialMaintained),
    ] {
        out.push(Command::OpenSetting(OpenSetting {
            urn: Urn::parse(urn).unwrap(),
            name: urn.into(),
            authority: AuthorityCode::parse("888").unwrap(),
            district: GssCode::parse("E07000117").unwrap(),
            planning_area: None,
            kind,
            phase: Phase::AllThrough,
            low_age: 2,
            high_age: 19,
            facility: None,
            designated_needs: vec![],
            on: d("2000-09-01"),
        }));
    }
    out
}

/// The events the domain accepts from `commands`, in order (refused ones dropped).
fn accepted(commands: &[Command]) -> Vec<Event> {
    let mut state = State::default();
    let mut events = vec![];
    for c in commands {
        if let Ok(new) = decide(&state, c) {
            for e in new {
                state = evolve(state, &e);
                events.push(e);
            }
        }
    }
    events
}

/// The events of `commands`, every one of which the domain must accept.
fn decided(commands: &[Command]) -> Vec<Event> {
    let mut state = State::default();
    let mut events = vec![];
    for c in commands {
        for e in decide(&state, c).unwrap() {
            state = evolve(state, &e);
            events.push(e);
        }
    }
    events
}

fn child(n: u8) -> ChildId {
    ChildId::parse(&format!("CHILD-{n:03}")).unwrap()
}

fn district(n: u8) -> GssCode {
    GssCode::parse(DISTRICTS[usize::from(n) % DISTRICTS.len()].0).unwrap()
}

#[test]
fn a_childs_plan_is_counted_where_and_as_what_it_is_each_january() {
    let mut commands = geography();
    let c = child(1);
    let la = AuthorityCode::parse("888").unwrap();
    commands.extend([
        Command::RegisterChild {
            child: c.clone(),
            authority: la.clone(),
            born: YearMonth::new(2015, 3).unwrap(),
            district: district(0),
            on: d("2020-01-10"),
        },
        Command::RequestAssessment {
            child: c.clone(),
            on: d("2020-01-10"),
        },
        Command::DecideAssessment {
            child: c.clone(),
            on: d("2020-02-20"),
            decision: AssessmentDecision::Assess,
        },
        Command::IssuePlan {
            child: c.clone(),
            on: d("2020-05-30"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![],
            transfer_in: None,
        },
        Command::StartPlacement {
            child: c.clone(),
            on: d("2020-06-01"),
            placed_at: PlacedAt::Setting {
                urn: Urn::parse("119001").unwrap(),
                facility: None,
            },
        },
        Command::MoveHome {
            child: c.clone(),
            on: d("2021-04-01"),
            home: NewHome::District {
                district: district(2),
            },
        },
        Command::CeasePlan {
            child: c.clone(),
            on: d("2022-03-01"),
            reason: CeaseReason::NeedsMet,
        },
    ]);
    let events = decided(&commands);
    let mut caseload = Caseload::default();
    caseload.apply_all(&events);

    assert!(
        caseload.january(2020).is_empty(),
        "not yet issued in January 2020"
    );
    let jan_2021: Vec<(Cell, u32)> = caseload.january(2021).into_iter().collect();
    assert_eq!(
        jan_2021,
        vec![(
            Cell {
                authority: la,
                district: district(0),
                // Born March 2015: 5 on 31 August 2020.
                age: 5,
                need: PrimaryNeed::Asd,
                kind: ProvisionKind::MainstreamAcademy,
            },
            1
        )]
    );
    // Moved to Blackburn with Darwen in April 2021: its caseload in January 2022, still at
    // the same school (in Lancashire), a year older.
    let jan_2022: Vec<(Cell, u32)> = caseload.january(2022).into_iter().collect();
    assert_eq!(jan_2022.len(), 1);
    assert_eq!(jan_2022[0].0.authority.as_str(), "889");
    assert_eq!(jan_2022[0].0.age, 6);
    assert!(caseload.january(2023).is_empty(), "ceased in March 2022");
}

/// The county's measures, counted by hand: two children in one Lancashire district, one
/// plan issued a day late (141 days after the request) and one on the 140th day; one child
/// later moves to Blackburn with Darwen and stays at the Lancashire school.
#[test]
fn the_county_measures_count_mainstream_share_timeliness_and_placements_out_of_authority() {
    use placeledger_caseload::Measures;
    let mut commands = geography();
    let la = AuthorityCode::parse("888").unwrap();
    let (late, on_time) = (child(1), child(2));
    let steps = |c: &ChildId, request: &str, decide: &str, issue: &str, need, urn: &str| {
        vec![
            Command::RegisterChild {
                child: c.clone(),
                authority: la.clone(),
                born: YearMonth::new(2015, 3).unwrap(),
                district: district(0),
                on: d("2020-01-02"),
            },
            Command::RequestAssessment {
                child: c.clone(),
                on: d(request),
            },
            Command::DecideAssessment {
                child: c.clone(),
                on: d(decide),
                decision: AssessmentDecision::Assess,
            },
            Command::IssuePlan {
                child: c.clone(),
                on: d(issue),
                primary_need: need,
                secondary_needs: vec![],
                transfer_in: None,
            },
            Command::StartPlacement {
                child: c.clone(),
                on: d("2020-09-01"),
                placed_at: PlacedAt::Setting {
                    urn: Urn::parse(urn).unwrap(),
                    facility: None,
                },
            },
        ]
    };
    // 10 January to 30 May 2020 (a leap year): 141 days.
    commands.extend(steps(
        &late,
        "2020-01-10",
        "2020-02-20",
        "2020-05-30",
        PrimaryNeed::Asd,
        "119001",
    ));
    // 2 March to 20 July 2020: 140 days, in time.
    commands.extend(steps(
        &on_time,
        "2020-03-02",
        "2020-04-01",
        "2020-07-20",
        PrimaryNeed::Semh,
        "119002",
    ));
    commands.push(Command::MoveHome {
        child: late.clone(),
        on: d("2021-04-01"),
        home: NewHome::District {
            district: district(2),
        },
    });
    let mut caseload = Caseload::default();
    caseload.apply_all(&decided(&commands));

    let m2021 = caseload.measures(2021);
    assert_eq!(m2021.len(), 1, "{m2021:?}");
    let lancs = &m2021[&(la.clone(), district(0))];
    assert_eq!(
        *lancs,
        Measures {
            plans: 2,
            in_mainstream: 1,
            independent_special: 0,
            out_of_authority: Default::default(),
            by_need: [(PrimaryNeed::Asd, 1), (PrimaryNeed::Semh, 1)].into(),
            new_plans: 2,
            new_plans_within_20_weeks: 1,
        }
    );
    // January 2022: the child who moved counts for Blackburn with Darwen, placed out of its
    // authority (at Lancashire's academy); no new plans in 2021.
    let m2022 = caseload.measures(2022);
    let bwd = &m2022[&(AuthorityCode::parse("889").unwrap(), district(2))];
    assert_eq!(bwd.plans, 1);
    assert_eq!(bwd.in_mainstream, 1);
    assert_eq!(
        bwd.out_of_authority,
        [(ProvisionKind::MainstreamAcademy, 1)].into()
    );
    assert_eq!(bwd.new_plans, 0);
    let lancs = &m2022[&(la, district(0))];
    assert_eq!(
        (lancs.plans, lancs.in_mainstream, lancs.new_plans),
        (1, 0, 0)
    );
}

/// A history of random lifecycle steps for six children, as the domain accepts them. Each
/// step either moves a child on to its next step towards a plan (register, request, decide,
/// issue) or, once it has one, places, ends a placement, moves home, changes need or ceases.
fn history(steps: &[(u8, u8, u8)]) -> Vec<Event> {
    let mut commands = geography();
    let mut day = d("2018-01-01");
    let mut stage = [0u8; 6];
    for &(op, n, gap) in steps {
        day = day + chrono::Days::new(u64::from(gap) * 5);
        let k = usize::from(n % 6);
        let c = child(n % 6);
        let need = PrimaryNeed::ALL[usize::from(op) % PrimaryNeed::ALL.len()];
        let urn = Urn::parse(if op % 2 == 0 { "119001" } else { "119002" }).unwrap();
        let command = if stage[k] < 4 || op % 3 == 0 {
            stage[k] = (stage[k] + 1).min(4);
            match stage[k] {
                1 => Command::RegisterChild {
                    child: c,
                    authority: AuthorityCode::parse(DISTRICTS[usize::from(n) % 3].1).unwrap(),
                    born: YearMonth::new(2008 + i32::from(n % 8), 1 + u32::from(op % 12)).unwrap(),
                    district: district(n),
                    on: day,
                },
                2 => Command::RequestAssessment { child: c, on: day },
                3 => Command::DecideAssessment {
                    child: c,
                    on: day,
                    decision: AssessmentDecision::Assess,
                },
                _ => Command::IssuePlan {
                    child: c,
                    on: day,
                    primary_need: need,
                    secondary_needs: vec![],
                    transfer_in: None,
                },
            }
        } else {
            match op % 6 {
                0 | 1 => Command::StartPlacement {
                    child: c,
                    on: day,
                    placed_at: PlacedAt::Setting {
                        urn,
                        facility: None,
                    },
                },
                2 => Command::EndPlacement {
                    child: c,
                    on: day,
                    reason: PlacementEndReason::MovedSetting,
                },
                3 => Command::MoveHome {
                    child: c,
                    on: day,
                    home: NewHome::District {
                        district: district(op),
                    },
                },
                4 => Command::ChangePrimaryNeed {
                    child: c,
                    on: day,
                    primary_need: need,
                },
                _ => Command::CeasePlan {
                    child: c,
                    on: day,
                    reason: CeaseReason::NeedsMet,
                },
            }
        };
        commands.push(command);
    }
    accepted(&commands)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn folding_in_batches_with_restarts_equals_folding_at_once(
        steps in prop::collection::vec((0u8..90, 0u8..12, 0u8..40), 0..160),
        cuts in prop::collection::vec(0usize..400, 0..6),
    ) {
        let events = history(&steps);
        let mut at_once = Caseload::default();
        at_once.apply_all(&events);

        let batched: Caseload = fold_with_restarts(&events, &cuts);
        prop_assert_eq!(&batched, &at_once);
        for year in 2018..=2026 {
            prop_assert_eq!(batched.january(year), at_once.january(year));
        }
    }
}

#[test]
fn england_s_january_plans_are_kept_by_january_and_a_later_figure_replaces_an_earlier() {
    let census = |y: i32| AcademicYear::new(y - 1).unwrap();
    let events = decided(&[
        Command::RecordNationalCaseload {
            census: census(2024),
            plans: 576_000,
        },
        Command::RecordNationalCaseload {
            census: census(2025),
            plans: 638_745,
        },
        // DfE's revised figure for 2024.
        Command::RecordNationalCaseload {
            census: census(2024),
            plans: 576_474,
        },
    ]);
    let mut caseload = Caseload::default();
    caseload.apply_all(&events);
    assert_eq!(
        caseload.national().into_iter().collect::<Vec<_>>(),
        vec![(2024, 576_474), (2025, 638_745)]
    );
    // It survives a save and load, as the runner keeps it.
    let saved = serde_json::to_string(&caseload).unwrap();
    let loaded: Caseload = serde_json::from_str(&saved).unwrap();
    assert_eq!(loaded.national(), caseload.national());
}

/// A census recorded again replaces the tables it brings (here the total and the placement
/// table) and keeps the others (the need table from the older file).
#[test]
fn a_census_recorded_again_replaces_only_the_tables_it_brings() {
    let la = AuthorityCode::parse("888").unwrap();
    let census = AcademicYear::new(2024).unwrap();
    let cell = |need, kind, plans| CaseloadCell {
        age: None,
        need,
        kind,
        plans: Some(plans),
    };
    let first = Event::CaseloadRecorded {
        authority: la.clone(),
        census,
        cells: vec![
            cell(None, None, 12_317),
            cell(Some(PrimaryNeed::Asd), None, 4_000),
            cell(None, Some(ProvisionKind::SpecialIndependent), 725),
        ],
    };
    let revised = Event::CaseloadRecorded {
        authority: la.clone(),
        census,
        cells: vec![
            cell(None, None, 12_320),
            cell(None, Some(ProvisionKind::SpecialIndependent), 726),
            cell(None, Some(ProvisionKind::SpecialNonMaintained), 30),
        ],
    };
    let mut p = Caseload::default();
    p.apply_all(&[first, revised]);
    let mut cells = p.published(&la).unwrap()[&census].clone();
    cells.sort_by_key(|c| (c.need, c.kind));
    assert_eq!(
        cells,
        vec![
            cell(None, None, 12_320),
            cell(None, Some(ProvisionKind::SpecialIndependent), 726),
            cell(None, Some(ProvisionKind::SpecialNonMaintained), 30),
            cell(Some(PrimaryNeed::Asd), None, 4_000),
        ]
    );
}

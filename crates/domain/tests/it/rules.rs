use placeledger_domain::*;
use rust_decimal::Decimal;

use crate::harness::*;

fn start_at_special(on: &str) -> Command {
    Command::StartPlacement {
        child: child(),
        on: d(on),
        placed_at: at_special(),
    }
}

// --- placements need an issued, unceased plan ---

#[test]
fn placement_without_a_plan_is_refused() {
    given(with_child())
        .when(start_at_special("2019-09-01"))
        .then_err("child", |e| matches!(e, DomainError::NoActivePlan { .. }));
}

#[test]
fn placement_before_the_plan_is_issued_is_refused() {
    given(with_plan())
        .when(start_at_special("2019-05-01"))
        .then_err("child", |e| matches!(e, DomainError::NoActivePlan { .. }));
}

#[test]
fn placement_after_the_plan_ceased_is_refused() {
    let mut history = with_plan();
    history.push(Event::PlanCeased {
        child: child(),
        ceased_on: d("2020-07-20"),
        reason: CeaseReason::NeedsMet,
    });
    given(history)
        .when(start_at_special("2020-09-01"))
        .then_err("child", |e| matches!(e, DomainError::NoActivePlan { .. }));
}

#[test]
fn placement_with_a_plan_at_an_open_setting_is_recorded() {
    given(with_plan())
        .when(start_at_special("2019-09-01"))
        .then([Event::PlacementStarted {
            child: child(),
            started_on: d("2019-09-01"),
            placed_at: at_special(),
        }]);
}

// --- one open placement at a time ---

#[test]
fn a_second_open_placement_is_refused() {
    given(with_placement())
        .when(Command::StartPlacement {
            child: child(),
            on: d("2020-01-06"),
            placed_at: PlacedAt::Setting {
                urn: primary(),
                facility: Some(Facility::ResourcedProvision),
            },
        })
        .then_err("child", |e| {
            matches!(e, DomainError::PlacementAlreadyOpen { since, .. } if *since == d("2019-09-01"))
        });
}

#[test]
fn a_new_placement_after_the_first_ends_is_recorded() {
    let mut history = with_placement();
    history.push(Event::PlacementEnded {
        child: child(),
        ended_on: d("2020-01-03"),
        reason: PlacementEndReason::MovedSetting,
    });
    let placed_at = PlacedAt::Setting {
        urn: primary(),
        facility: Some(Facility::ResourcedProvision),
    };
    given(history)
        .when(Command::StartPlacement {
            child: child(),
            on: d("2020-01-06"),
            placed_at,
        })
        .then([Event::PlacementStarted {
            child: child(),
            started_on: d("2020-01-06"),
            placed_at,
        }]);
}

#[test]
fn ending_a_placement_that_is_not_open_is_refused() {
    given(with_plan())
        .when(Command::EndPlacement {
            child: child(),
            on: d("2020-01-03"),
            reason: PlacementEndReason::Other,
        })
        .then_err("child", |e| {
            matches!(e, DomainError::NoOpenPlacement { .. })
        });
}

#[test]
fn a_placement_cannot_end_before_it_started() {
    given(with_placement())
        .when(Command::EndPlacement {
            child: child(),
            on: d("2019-08-01"),
            reason: PlacementEndReason::Other,
        })
        .then_err("on", |e| matches!(e, DomainError::OutOfOrder { .. }));
}

#[test]
fn a_facility_the_setting_lacks_is_refused() {
    given(with_plan())
        .when(Command::StartPlacement {
            child: child(),
            on: d("2019-09-01"),
            placed_at: PlacedAt::Setting {
                urn: primary(),
                facility: Some(Facility::SenUnit),
            },
        })
        .then_err("facility", |e| matches!(e, DomainError::Invalid { .. }));
}

// --- a plan is issued once and ceased once ---

#[test]
fn a_plan_is_issued_once() {
    given(with_plan())
        .when(Command::IssuePlan {
            child: child(),
            on: d("2020-06-01"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![],
            transfer_in: None,
        })
        .then_err("child", |e| {
            matches!(e, DomainError::PlanAlreadyIssued { .. })
        });
}

#[test]
fn a_plan_is_ceased_once() {
    let mut history = with_plan();
    history.push(Event::PlanCeased {
        child: child(),
        ceased_on: d("2021-07-20"),
        reason: CeaseReason::NeedsMet,
    });
    given(history)
        .when(Command::CeasePlan {
            child: child(),
            on: d("2021-08-20"),
            reason: CeaseReason::Other,
        })
        .then_err("child", |e| {
            matches!(e, DomainError::PlanAlreadyCeased { .. })
        });
}

#[test]
fn ceasing_a_plan_ends_the_open_placement_first() {
    given(with_placement())
        .when(Command::CeasePlan {
            child: child(),
            on: d("2021-07-20"),
            reason: CeaseReason::TransferredToAnotherLa,
        })
        .then([
            Event::PlacementEnded {
                child: child(),
                ended_on: d("2021-07-20"),
                reason: PlacementEndReason::PlanCeased,
            },
            Event::PlanCeased {
                child: child(),
                ceased_on: d("2021-07-20"),
                reason: CeaseReason::TransferredToAnotherLa,
            },
        ]);
}

#[test]
fn a_new_plan_needs_a_decision_to_assess() {
    let mut history = with_child();
    history.push(Event::AssessmentRequested {
        child: child(),
        requested_on: d("2019-01-10"),
    });
    history.push(Event::AssessmentDecided {
        child: child(),
        decided_on: d("2019-02-20"),
        decision: AssessmentDecision::DoNotAssess,
    });
    given(history)
        .when(Command::IssuePlan {
            child: child(),
            on: d("2019-06-01"),
            primary_need: PrimaryNeed::Semh,
            secondary_needs: vec![],
            transfer_in: None,
        })
        .then_err("child", |e| {
            matches!(e, DomainError::NoDecisionToAssess { .. })
        });
}

#[test]
fn a_transferred_in_plan_keeps_its_date_and_needs_no_assessment() {
    let transfer_in = Some(TransferIn {
        from_authority: "Cumberland".into(),
        originally_issued_on: d("2018-03-01"),
    });
    given(with_child())
        .when(Command::IssuePlan {
            child: child(),
            on: d("2019-04-01"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![PrimaryNeed::Slcn],
            transfer_in: transfer_in.clone(),
        })
        .then([Event::PlanIssued {
            child: child(),
            issued_on: d("2019-04-01"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![PrimaryNeed::Slcn],
            transfer_in,
        }]);
}

#[test]
fn the_primary_need_cannot_also_be_secondary() {
    let mut history = with_child();
    history.extend(with_plan().into_iter().skip(with_child().len()).take(2));
    given(history)
        .when(Command::IssuePlan {
            child: child(),
            on: d("2019-06-01"),
            primary_need: PrimaryNeed::Asd,
            secondary_needs: vec![PrimaryNeed::Asd],
            transfer_in: None,
        })
        .then_err("secondary_needs", |e| {
            matches!(e, DomainError::Invalid { .. })
        });
}

#[test]
fn a_decision_needs_a_pending_request() {
    given(with_child())
        .when(Command::DecideAssessment {
            child: child(),
            on: d("2019-02-20"),
            decision: AssessmentDecision::Assess,
        })
        .then_err("child", |e| {
            matches!(e, DomainError::NoPendingRequest { .. })
        });
}

#[test]
fn a_second_request_while_one_is_pending_is_refused() {
    let mut history = with_child();
    history.push(Event::AssessmentRequested {
        child: child(),
        requested_on: d("2019-01-10"),
    });
    given(history)
        .when(Command::RequestAssessment {
            child: child(),
            on: d("2019-01-20"),
        })
        .then_err("child", |e| matches!(e, DomainError::RequestPending { .. }));
}

#[test]
fn reviews_and_need_changes_need_a_plan_in_force() {
    given(with_child())
        .when(Command::HoldAnnualReview {
            child: child(),
            on: d("2020-06-01"),
            outcome: ReviewOutcome::Maintain,
        })
        .then_err("child", |e| matches!(e, DomainError::NoActivePlan { .. }));
    given(with_plan())
        .when(Command::ChangePrimaryNeed {
            child: child(),
            on: d("2020-06-01"),
            primary_need: PrimaryNeed::Asd,
        })
        .then([Event::PrimaryNeedChanged {
            child: child(),
            changed_on: d("2020-06-01"),
            primary_need: PrimaryNeed::Asd,
        }]);
    given(with_plan())
        .when(Command::ChangePrimaryNeed {
            child: child(),
            on: d("2020-06-01"),
            primary_need: PrimaryNeed::Semh,
        })
        .then_err("primary_need", |e| matches!(e, DomainError::Invalid { .. }));
}

// --- no event before birth or after 25 ---

#[test]
fn registration_before_birth_is_refused() {
    given(geography())
        .when(Command::RegisterChild {
            child: child(),
            authority: la(),
            born: YearMonth::new(2015, 3).unwrap(),
            district: burnley(),
            on: d("2015-02-28"),
        })
        .then_err("on", |e| matches!(e, DomainError::BeforeBirth { .. }));
}

#[test]
fn events_after_the_child_is_25_are_refused() {
    // Born March 2015: 26 in March 2041, so April 2041 is past 25.
    given(with_plan())
        .when(Command::HoldAnnualReview {
            child: child(),
            on: d("2041-04-01"),
            outcome: ReviewOutcome::Maintain,
        })
        .then_err("on", |e| matches!(e, DomainError::AfterAge25 { .. }));
    given(with_plan())
        .when(Command::HoldAnnualReview {
            child: child(),
            on: d("2040-07-01"),
            outcome: ReviewOutcome::Maintain,
        })
        .then([Event::AnnualReviewHeld {
            child: child(),
            held_on: d("2040-07-01"),
            outcome: ReviewOutcome::Maintain,
        }]);
}

#[test]
fn child_events_before_registration_are_refused() {
    given(with_child())
        .when(Command::RequestAssessment {
            child: child(),
            on: d("2018-12-01"),
        })
        .then_err("on", |e| matches!(e, DomainError::OutOfOrder { .. }));
}

// --- settings must be open ---

#[test]
fn placement_at_a_setting_not_yet_open_is_refused() {
    let mut history = with_plan();
    history.push(Event::SettingOpened {
        urn: Urn::parse("150000").unwrap(),
        name: "Synthetic New Free Special".into(),
        authority: la(),
        district: burnley(),
        planning_area: None,
        kind: SettingKind::SpecialAcademyFree,
        phase: Phase::Secondary,
        low_age: 11,
        high_age: 16,
        facility: None,
        designated_needs: vec![],
        opened_on: d("2028-09-01"),
    });
    given(history)
        .when(Command::StartPlacement {
            child: child(),
            on: d("2026-09-01"),
            placed_at: PlacedAt::Setting {
                urn: Urn::parse("150000").unwrap(),
                facility: None,
            },
        })
        .then_err("urn", |e| matches!(e, DomainError::SettingNotOpen { .. }));
}

#[test]
fn placement_at_a_closed_setting_is_refused() {
    let mut history = with_plan();
    history.push(Event::SettingClosed {
        urn: special(),
        closed_on: d("2019-08-31"),
    });
    given(history)
        .when(start_at_special("2019-09-01"))
        .then_err("urn", |e| matches!(e, DomainError::SettingNotOpen { .. }));
}

#[test]
fn conversion_closes_the_old_urn_and_opens_the_academy() {
    let new_urn = Urn::parse("149999").unwrap();
    let mut history = with_plan();
    history.push(Event::SettingConvertedToAcademy {
        urn: special(),
        new_urn,
        new_name: "Synthetic Moorside Academy".into(),
        converted_on: d("2019-08-01"),
    });
    let state = State::from_events(&history);
    assert_eq!(
        state.settings[&new_urn].kind,
        SettingKind::SpecialAcademyFree
    );
    given(history.clone())
        .when(start_at_special("2019-09-01"))
        .then_err("urn", |e| matches!(e, DomainError::SettingNotOpen { .. }));
    given(history)
        .when(Command::StartPlacement {
            child: child(),
            on: d("2019-09-01"),
            placed_at: PlacedAt::Setting {
                urn: new_urn,
                facility: None,
            },
        })
        .then([Event::PlacementStarted {
            child: child(),
            started_on: d("2019-09-01"),
            placed_at: PlacedAt::Setting {
                urn: new_urn,
                facility: None,
            },
        }]);
}

#[test]
fn conversion_to_an_existing_urn_is_refused() {
    given(geography())
        .when(Command::ConvertToAcademy {
            urn: special(),
            new_urn: special(),
            new_name: "x".into(),
            on: d("2019-08-01"),
        })
        .then_err("new_urn", |e| {
            matches!(e, DomainError::AlreadyExists { .. })
        });
}

// --- counts and capacities are never negative ---

#[test]
fn negative_net_capacity_is_refused() {
    given(geography())
        .when(Command::SetNetCapacity {
            urn: primary(),
            from: d("2024-09-01"),
            capacity: vec![(Ncy::RECEPTION, 30), (Ncy::parse("Y1").unwrap(), -1)],
        })
        .then_err("capacity[Y1]", |e| {
            matches!(e, DomainError::Negative { value: -1, .. })
        });
}

#[test]
fn negative_commissioned_places_are_refused() {
    given(geography())
        .when(Command::CommissionPlaces {
            urn: special(),
            year: AcademicYear::new(2025).unwrap(),
            places: vec![(Some(PrimaryNeed::Semh), -5)],
        })
        .then_err("places[SEMH]", |e| {
            matches!(e, DomainError::Negative { .. })
        });
}

#[test]
fn negative_census_rolls_and_caseloads_are_refused() {
    given(geography())
        .when(Command::RecordCensusRoll {
            urn: primary(),
            census: AcademicYear::new(2025).unwrap(),
            rolls: vec![(Ncy::RECEPTION, -30)],
        })
        .then_err("rolls[R]", |e| matches!(e, DomainError::Negative { .. }));
    given(geography())
        .when(Command::RecordCaseload {
            authority: la(),
            census: AcademicYear::new(2024).unwrap(),
            cells: vec![CaseloadInput {
                age: Some((7, 7)),
                need: Some(PrimaryNeed::Asd),
                kind: None,
                plans: Some(-3),
            }],
        })
        .then_err("cells[0].plans", |e| {
            matches!(e, DomainError::Negative { .. })
        });
    given(geography())
        .when(Command::RecordBirths {
            area: burnley(),
            year: 2020,
            births: -1,
        })
        .then_err("births", |e| matches!(e, DomainError::Negative { .. }));
}

#[test]
fn a_negative_placement_cost_is_refused() {
    given(geography())
        .when(Command::SetPlacementCost {
            authority: la(),
            kind: ProvisionKind::SpecialIndependent,
            from: d("2025-04-01"),
            annual_cost: Decimal::new(-65_000, 0),
        })
        .then_err("annual_cost", |e| matches!(e, DomainError::Invalid { .. }));
}

#[test]
fn capacities_are_recorded_per_ncy() {
    given(geography())
        .when(Command::SetNetCapacity {
            urn: primary(),
            from: d("2024-09-01"),
            capacity: vec![(Ncy::RECEPTION, 30), (Ncy::parse("Y1").unwrap(), 30)],
        })
        .then([Event::NetCapacitySet {
            urn: primary(),
            from: d("2024-09-01"),
            capacity: vec![
                NcyCount {
                    ncy: Ncy::RECEPTION,
                    count: 30,
                },
                NcyCount {
                    ncy: Ncy::parse("Y1").unwrap(),
                    count: 30,
                },
            ],
        }]);
}

// --- unknown districts and URNs are refused ---

#[test]
fn unknown_district_is_refused() {
    let nowhere = GssCode::parse("E07000999").unwrap();
    given(geography())
        .when(Command::RegisterChild {
            child: child(),
            authority: la(),
            born: YearMonth::new(2015, 3).unwrap(),
            district: nowhere.clone(),
            on: d("2019-01-10"),
        })
        .then_err("district", |e| matches!(e, DomainError::Unknown { .. }));
    given(geography())
        .when(Command::RecordPopulation {
            area: nowhere,
            year: 2025,
            age: AgeGroup::Single(4),
            persons: Decimal::new(1200, 0),
            basis: PopulationBasis::Projection,
            release: "2022-based SNPP".into(),
        })
        .then_err("area", |e| matches!(e, DomainError::Unknown { .. }));
}

#[test]
fn unknown_urn_is_refused() {
    given(with_plan())
        .when(Command::StartPlacement {
            child: child(),
            on: d("2019-09-01"),
            placed_at: PlacedAt::Setting {
                urn: Urn::parse("100000").unwrap(),
                facility: None,
            },
        })
        .then_err("urn", |e| e.is_not_found());
    given(geography())
        .when(Command::RecordCensusRoll {
            urn: Urn::parse("100000").unwrap(),
            census: AcademicYear::new(2025).unwrap(),
            rolls: vec![(Ncy::RECEPTION, 30)],
        })
        .then_err("urn", |e| e.is_not_found());
}

#[test]
fn a_district_must_belong_to_the_setting_authority() {
    given(geography())
        .when(Command::OpenSetting(OpenSetting {
            urn: Urn::parse("119555").unwrap(),
            name: "Synthetic Seafront Academy".into(),
            authority: la(),
            district: blackpool_district(),
            planning_area: None,
            kind: SettingKind::MainstreamAcademy,
            phase: Phase::Secondary,
            low_age: 11,
            high_age: 16,
            facility: None,
            designated_needs: vec![],
            on: d("2015-09-01"),
        }))
        .then_err("district", |e| {
            matches!(e, DomainError::DistrictOutsideAuthority { .. })
        });
}

#[test]
fn geography_is_data_and_duplicates_are_refused() {
    given(geography())
        .when(Command::RegisterAuthority {
            authority: la(),
            gss: GssCode::parse("E10000017").unwrap(),
            name: "Lancashire".into(),
        })
        .then_err("authority", |e| {
            matches!(e, DomainError::AlreadyExists { .. })
        });
    given(geography())
        .when(Command::RegisterDistrict {
            district: GssCode::parse("E07000118").unwrap(),
            authority: AuthorityCode::parse("999").unwrap(),
            name: "Chorley".into(),
        })
        .then_err("authority", |e| e.is_not_found());
    given(geography())
        .when(Command::RegisterPlanningArea {
            planning_area: PlanningAreaCode::parse("BUR-P1").unwrap(),
            district: burnley(),
            phase: Phase::Primary,
            name: "   ".into(),
        })
        .then_err("name", |e| matches!(e, DomainError::Invalid { .. }));
}

#[test]
fn a_suppressed_caseload_count_is_unknown_not_zero() {
    given(geography())
        .when(Command::RecordCaseload {
            authority: la(),
            census: AcademicYear::new(2024).unwrap(),
            cells: vec![
                CaseloadInput {
                    age: Some((0, 2)),
                    need: None,
                    kind: None,
                    plans: None,
                },
                CaseloadInput {
                    age: None,
                    need: None,
                    kind: Some(ProvisionKind::NotRecorded),
                    plans: Some(0),
                },
            ],
        })
        .then([Event::CaseloadRecorded {
            authority: la(),
            census: AcademicYear::new(2024).unwrap(),
            cells: vec![
                CaseloadCell {
                    age: Some(AgeBand::new(0, 2).unwrap()),
                    need: None,
                    kind: None,
                    plans: None,
                },
                CaseloadCell {
                    age: None,
                    need: None,
                    kind: Some(ProvisionKind::NotRecorded),
                    plans: Some(0),
                },
            ],
        }]);
}

fn activity(measure: ActivityMeasure, count: Option<i64>) -> ActivityInput {
    ActivityInput {
        measure,
        age: None,
        need: None,
        kind: None,
        reason: None,
        count,
    }
}

#[test]
fn activity_counts_are_recorded_with_unknowns_kept_unknown() {
    given(geography())
        .when(Command::RecordActivity {
            authority: la(),
            year: 2024,
            cells: vec![
                activity(ActivityMeasure::RequestsReceived, Some(2_410)),
                ActivityInput {
                    reason: Some(CeaseReason::NotRecorded),
                    ..activity(ActivityMeasure::PlansCeased, None)
                },
            ],
        })
        .then([Event::ActivityRecorded {
            authority: la(),
            year: 2024,
            cells: vec![
                ActivityCell {
                    measure: ActivityMeasure::RequestsReceived,
                    age: None,
                    need: None,
                    kind: None,
                    reason: None,
                    count: Some(2_410),
                },
                ActivityCell {
                    measure: ActivityMeasure::PlansCeased,
                    age: None,
                    need: None,
                    kind: None,
                    reason: Some(CeaseReason::NotRecorded),
                    count: None,
                },
            ],
        }]);
}

#[test]
fn england_s_january_plans_are_recorded_on_their_own_stream() {
    let census = AcademicYear::new(2024).unwrap();
    let command = Command::RecordNationalCaseload {
        census,
        plans: 638_745,
    };
    assert_eq!(command.stream_id(), "caseload-england");
    // National figures belong to no authority: administrators record them.
    assert_eq!(command.responsible(&State::default()), Responsible::Nobody);
    given([])
        .when(command)
        .then([Event::NationalCaseloadRecorded {
            census,
            plans: 638_745,
        }]);
}

#[test]
fn england_s_january_plans_must_be_a_positive_count() {
    for (plans, check) in [
        (
            0,
            (|e: &DomainError| matches!(e, DomainError::Invalid { .. }))
                as fn(&DomainError) -> bool,
        ),
        (-5, |e: &DomainError| {
            matches!(e, DomainError::Negative { value: -5, .. })
        }),
    ] {
        given([])
            .when(Command::RecordNationalCaseload {
                census: AcademicYear::new(2024).unwrap(),
                plans,
            })
            .then_err("plans", check);
    }
}

#[test]
fn a_negative_activity_count_is_refused_with_its_cell() {
    given(geography())
        .when(Command::RecordActivity {
            authority: la(),
            year: 2024,
            cells: vec![
                activity(ActivityMeasure::NewPlans, Some(10)),
                activity(ActivityMeasure::PlansIssued, Some(-3)),
            ],
        })
        .then_err("cells[1].count", |e| {
            matches!(e, DomainError::Negative { value: -3, .. })
        });
}

#[test]
fn an_activity_count_given_twice_is_refused() {
    given(geography())
        .when(Command::RecordActivity {
            authority: la(),
            year: 2024,
            cells: vec![
                activity(ActivityMeasure::NewPlans, Some(10)),
                activity(ActivityMeasure::NewPlans, Some(11)),
            ],
        })
        .then_err("cells[1]", |e| matches!(e, DomainError::Invalid { .. }));
}

#[test]
fn activity_for_an_unknown_authority_or_year_is_refused() {
    given(vec![])
        .when(Command::RecordActivity {
            authority: la(),
            year: 2024,
            cells: vec![activity(ActivityMeasure::NewPlans, Some(1))],
        })
        .then_err("authority", DomainError::is_not_found);
    given(geography())
        .when(Command::RecordActivity {
            authority: la(),
            year: 1066,
            cells: vec![activity(ActivityMeasure::NewPlans, Some(1))],
        })
        .then_err("year", |e| matches!(e, DomainError::Invalid { .. }));
}

fn funding(allocation: Option<Decimal>, dsg_balance: Option<Decimal>) -> Command {
    Command::RecordHighNeedsFunding {
        authority: la(),
        financial_year: 2025,
        allocation,
        dsg_balance,
        status: FundingStatus::Final,
        source: "DSG allocations 2025 to 2026".into(),
    }
}

#[test]
fn high_needs_funding_is_recorded_with_a_deficit_as_a_negative_balance() {
    let command = funding(
        Some(Decimal::new(21_000_000_000, 2)),
        Some(Decimal::from(-171_410_000)),
    );
    assert_eq!(command.stream_id(), "high-needs-888");
    given(geography())
        .when(command)
        .then([Event::HighNeedsFundingRecorded {
            authority: la(),
            financial_year: 2025,
            allocation: Some(Money::new(Decimal::from(210_000_000)).unwrap()),
            dsg_balance: Some(Decimal::from(-171_410_000)),
            status: FundingStatus::Final,
            source: "DSG allocations 2025 to 2026".into(),
        }]);
}

#[test]
fn high_needs_funding_without_figures_or_with_bad_ones_is_refused() {
    given(geography())
        .when(funding(None, None))
        .then_err("allocation", |e| matches!(e, DomainError::Invalid { .. }));
    given(geography())
        .when(funding(Some(Decimal::ZERO), None))
        .then_err("allocation", |e| matches!(e, DomainError::Invalid { .. }));
    given(geography())
        .when(funding(Some(Decimal::from(-5)), None))
        .then_err("allocation", |e| matches!(e, DomainError::Invalid { .. }));
    given(geography())
        .when(funding(None, Some(Decimal::new(-1001, 3))))
        .then_err("dsg_balance", |e| matches!(e, DomainError::Invalid { .. }));
    given(vec![])
        .when(funding(Some(Decimal::ONE), None))
        .then_err("authority", DomainError::is_not_found);
    given(geography())
        .when(Command::RecordHighNeedsFunding {
            authority: la(),
            financial_year: 2025,
            allocation: Some(Decimal::ONE),
            dsg_balance: None,
            status: FundingStatus::Estimate,
            source: "  ".into(),
        })
        .then_err("source", |e| matches!(e, DomainError::Invalid { .. }));
}

// --- moving home ---

#[test]
fn moving_to_a_partner_district_transfers_the_plan() {
    let mut history = with_plan();
    history.push(Event::ChildMovedHome {
        child: child(),
        moved_on: d("2021-04-01"),
        home: NewHome::District {
            district: blackpool_district(),
        },
    });
    let state = State::from_events(&history);
    assert_eq!(state.children[&child()].authority, blackpool());
    assert!(
        state.children[&child()].plan.is_some(),
        "the plan moves with the child"
    );
}

#[test]
fn moving_out_twice_is_refused() {
    let mut history = with_plan();
    history.push(Event::ChildMovedHome {
        child: child(),
        moved_on: d("2021-04-01"),
        home: NewHome::OutsideArea {
            authority: "Cumberland".into(),
        },
    });
    given(history)
        .when(Command::MoveHome {
            child: child(),
            on: d("2021-05-01"),
            home: NewHome::OutsideArea {
                authority: "Cumbria".into(),
            },
        })
        .then_err("child", |e| {
            matches!(e, DomainError::ChildOutsideArea { .. })
        });
}

// --- aggregates ---

#[test]
fn population_for_an_authority_area_is_recorded() {
    given(geography())
        .when(Command::RecordPopulation {
            area: GssCode::parse("E10000017").unwrap(),
            year: 2030,
            age: AgeGroup::NinetyAndOver,
            persons: Decimal::new(14_230_500, 3),
            basis: PopulationBasis::Projection,
            release: "2022-based SNPP".into(),
        })
        .then([Event::PopulationRecorded {
            area: GssCode::parse("E10000017").unwrap(),
            year: 2030,
            age: AgeGroup::NinetyAndOver,
            persons: Decimal::new(14_230_500, 3),
            basis: PopulationBasis::Projection,
            release: "2022-based SNPP".into(),
        }]);
}

#[test]
fn caseload_ages_stop_at_25() {
    given(geography())
        .when(Command::RecordCaseload {
            authority: la(),
            census: AcademicYear::new(2024).unwrap(),
            cells: vec![CaseloadInput {
                age: Some((26, 26)),
                need: None,
                kind: None,
                plans: Some(3),
            }],
        })
        .then_err("cells[0].age", |e| matches!(e, DomainError::Invalid { .. }));
}

#[test]
fn housing_needs_a_known_planning_area() {
    given(geography())
        .when(Command::RecordHousingCompletions {
            planning_area: PlanningAreaCode::parse("BUR-P1").unwrap(),
            year: 2024,
            dwellings: 120,
            pupil_yield: vec![(Phase::Primary, Decimal::new(25, 2))],
        })
        .then_err("planning_area", |e| e.is_not_found());
}

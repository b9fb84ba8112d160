#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

//! The forecast engine, driven through its public interface with hand-built inputs whose
//! answers can be worked out on paper.

use std::collections::BTreeMap;

use placeledger_domain::{AuthorityCode, GssCode, Phase, PrimaryNeed};
use placeledger_forecast::backtest::Method;
use placeledger_forecast::*;

mod projections;

fn la(code: &str) -> AuthorityCode {
    AuthorityCode::parse(code).unwrap()
}

fn gss(code: &str) -> GssCode {
    GssCode::parse(code).unwrap()
}

const D1: &str = "E07000117";
const D2: &str = "E07000118";
const B1: &str = "E06000008";
const C1: &str = "E06000009";

fn authority(name: &str, districts: &[&str]) -> Authority {
    Authority {
        name: name.into(),
        districts: districts
            .iter()
            .map(|d| (gss(d), format!("District {d}")))
            .collect(),
    }
}

/// 1,000 residents at every age in every year from 2015 to 2040.
fn flat_population(districts: &[&str]) -> Population {
    let mut p = Population::default();
    for d in districts {
        for year in 2015..=2040 {
            for age in 0..=25 {
                p.insert(&gss(d), year, age, 1_000.0);
            }
        }
    }
    p
}

fn quiet() -> Options {
    Options {
        noise: false,
        runs: 3,
        window: 1,
        ..Options::default()
    }
}

/// One district; January 2023: 100 ASD plans at age 5. January 2024: 90 of them (now 6)
/// still held, and 20 new plans at age 5. So continuation 5 -> 6 is 0.9, incidence at 5 is
/// 20 per 1,000, and nothing else is known.
fn hand_inputs() -> Inputs {
    let mut h = ChildHistory::default();
    let key = |age| (gss(D1), age, PrimaryNeed::Asd);
    h.january.insert(2023, BTreeMap::from([(key(5), 100)]));
    h.january
        .insert(2024, BTreeMap::from([(key(6), 90), (key(5), 20)]));
    h.new_plans.insert(2023, BTreeMap::new());
    h.new_plans.insert(2024, BTreeMap::from([(key(5), 20)]));
    h.ceased.insert(2024, BTreeMap::from([(5, 10)]));
    h.placements.insert(
        2024,
        BTreeMap::from([((Phase::Primary, PrimaryNeed::Asd, PlaceKind::Special), 110)]),
    );
    Inputs {
        authorities: BTreeMap::from([(la("888"), authority("Lancashire", &[D1]))]),
        send: BTreeMap::from([(la("888"), SendHistory::Children(h))]),
        population: flat_population(&[D1]),
        ..Inputs::default()
    }
}

#[test]
fn cohorts_age_on_by_hand_computed_rates() {
    let f = forecast(&hand_inputs(), &quiet()).unwrap();
    assert_eq!(f.origin, 2024);
    let plans = &f.caseload[&la("888")];
    // Jan 2025: the 20 five-year-olds are six (x 0.9 = 18); the 90 six-year-olds are seven
    // (no flow seen at 6, so they carry on: 90); 20 new five-year-olds (20/1,000 x 1,000).
    assert_eq!(plans[&2025], Range::exact(18 + 90 + 20));
    // Jan 2026: 20 new at five, 18 at six, 18 at seven, 90 at eight.
    assert_eq!(plans[&2026], Range::exact(20 + 18 + 18 + 90));
    let rates = &f.rates[&la("888")];
    assert_eq!(rates.method, "stock_flow");
    assert_eq!(rates.cessation, Some(0.1));
    // All of them are in special primary places: ages 5-8 are primary.
    let in_2026: Vec<&Row> = f
        .rows
        .iter()
        .filter(|r| r.year == 2026 && r.need.is_none() && r.demand.p50 > 0)
        .collect();
    assert_eq!(in_2026.len(), 1, "{in_2026:?}");
    assert_eq!(
        (in_2026[0].phase, in_2026[0].kind, in_2026[0].demand),
        (Phase::Primary, PlaceKind::Special, Range::exact(146))
    );
}

/// Children keep their placement until they leave their phase. Hand-worked: January 2024's
/// 110 special primary children (100 in the authority, 10 outside it) are 108 in January 2025
/// (90 at seven, 18 at six), still primary, and 20 new five-year-olds join them; the district
/// has 60 special primary places. The 98 of the 108 in the authority stay there (60 in the
/// places, 38 over them), the 10 outside stay outside, and only the 20 new children, for whom
/// there is no place, go out of county: 30 in all (the old allocation sent 68).
#[test]
fn children_already_placed_keep_their_placement() {
    let mut inputs = hand_inputs();
    let SendHistory::Children(h) = inputs.send.get_mut(&la("888")).unwrap() else {
        unreachable!()
    };
    h.located.insert(
        2024,
        BTreeMap::from([((gss(D1), Phase::Primary, PlaceKind::Special), [100, 0, 10])]),
    );
    let with_places = |n: u32| {
        let mut inputs = inputs.clone();
        inputs.capacity.insert(
            (gss(D1), PlaceKind::Special, Phase::Primary),
            BTreeMap::from([(2020, n)]),
        );
        forecast(&inputs, &quiet()).unwrap()
    };
    let f = with_places(60);
    let row = special_row(&f, D1, 2025);
    assert_eq!(row.demand, Range::exact(128));
    let outside_today = 108.0 * 10.0 / 110.0;
    assert_eq!(
        row.out_of_county,
        Range::exact((outside_today + 20.0_f64).round() as i64)
    );
    assert_eq!(
        row.met_in_authority,
        Some(Range::exact(
            (108.0 * 100.0 / 110.0 - 60.0_f64).round() as i64
        ))
    );
    assert_eq!(row.surplus, Some(Range::exact(60 - 128)));
    // With places for everyone, only the children outside today are out of county.
    let f = with_places(200);
    let row = special_row(&f, D1, 2025);
    assert_eq!(
        row.out_of_county,
        Range::exact(outside_today.round() as i64)
    );
}

/// An authority known only by its January totals (no breakdown), with its districts'
/// population, giving `per_district` special primary plans a year in each, flat.
fn table_authority(total: u32, with_breakdown: bool) -> SendHistory {
    let mut t = TableHistory::default();
    for year in 2020..=2024 {
        t.totals.insert(year, total);
        if with_breakdown {
            t.ages.insert(year, BTreeMap::from([((5, 10), total)]));
            t.needs
                .insert(year, BTreeMap::from([(PrimaryNeed::Asd, total)]));
            t.kinds
                .insert(year, BTreeMap::from([(PlaceKind::Special, total)]));
        }
    }
    SendHistory::Tables(t)
}

/// Three authorities: 888 (two districts, 50 special primary plans each), 889 and 890 with
/// no plans of their own but special places.
fn allocation_inputs(share_from_889: bool) -> Inputs {
    let mut capacity = BTreeMap::new();
    let mut places = |d: &str, n: u32| {
        capacity.insert(
            (gss(d), PlaceKind::Special, Phase::Primary),
            BTreeMap::from([(2020, n)]),
        );
    };
    places(D1, 20);
    places(D2, 60);
    places(B1, 15);
    places(C1, 100);
    let mut sharing = std::collections::BTreeSet::new();
    if share_from_889 {
        sharing.insert((la("889"), la("888")));
    }
    Inputs {
        authorities: BTreeMap::from([
            (la("888"), authority("Lancashire", &[D1, D2])),
            (la("889"), authority("Blackburn with Darwen", &[B1])),
            (la("890"), authority("Blackpool", &[C1])),
        ]),
        send: BTreeMap::from([(la("888"), table_authority(100, true))]),
        population: flat_population(&[D1, D2, B1, C1]),
        capacity,
        sharing,
        ..Inputs::default()
    }
}

fn special_row<'a>(f: &'a Forecast, district: &str, year: i32) -> &'a Row {
    f.rows
        .iter()
        .find(|r| {
            r.district == gss(district)
                && r.year == year
                && r.kind == PlaceKind::Special
                && r.phase == Phase::Primary
                && r.need.is_none()
        })
        .unwrap()
}

#[test]
fn demand_is_met_in_district_then_authority_then_partner_then_out_of_county() {
    let f = forecast(&allocation_inputs(true), &quiet()).unwrap();
    let d1 = special_row(&f, D1, 2025);
    // 50 wanted, 20 places here: 30 short. 888's other district has 10 spare; 889 shares
    // 15; 890 has 100 spare but no agreement with 888, so 5 go out of county.
    assert_eq!(d1.demand, Range::exact(50));
    assert_eq!(d1.capacity, Some(20));
    assert_eq!(d1.surplus, Some(Range::exact(-30)));
    assert!(d1.is_deficit());
    assert_eq!(d1.met_in_authority, Some(Range::exact(10)));
    assert_eq!(d1.met_by_partner, Some(Range::exact(15)));
    assert_eq!(d1.out_of_county, Range::exact(5));
    let d2 = special_row(&f, D2, 2025);
    assert_eq!(d2.surplus, Some(Range::exact(10)));
    assert_eq!(d2.out_of_county, Range::exact(0));

    // Without the agreement, 889's places are not 888's to use.
    let f = forecast(&allocation_inputs(false), &quiet()).unwrap();
    let d1 = special_row(&f, D1, 2025);
    assert_eq!(d1.met_by_partner, Some(Range::exact(0)));
    assert_eq!(d1.out_of_county, Range::exact(20));
}

/// An authority known only from DfE's tables, whose total follows England's growth, is
/// told so; one with its own children is not.
#[test]
fn a_forecast_from_england_s_growth_alone_is_warned_of() {
    let f = forecast(&with_england(allocation_inputs(false), 2024), &quiet()).unwrap();
    let codes: Vec<&str> = f
        .authority_warnings(&la("888"))
        .iter()
        .map(|w| w.code)
        .collect();
    assert!(codes.contains(&"england_growth_only"), "{codes:?}");
    let f = forecast(&with_england(hand_inputs(), 2024), &quiet()).unwrap();
    let codes: Vec<&str> = f
        .authority_warnings(&la("888"))
        .iter()
        .map(|w| w.code)
        .collect();
    assert!(!codes.contains(&"england_growth_only"), "{codes:?}");
}

#[test]
fn a_forecast_without_englands_januaries_says_what_it_falls_back_to() {
    let codes = |inputs: &Inputs| -> Vec<&'static str> {
        forecast(inputs, &quiet())
            .unwrap()
            .authority_warnings(&la("888"))
            .iter()
            .map(|w| w.code)
            .collect()
    };
    let without = codes(&allocation_inputs(false));
    assert!(without.contains(&"england_growth_missing"), "{without:?}");
    assert!(!without.contains(&"england_growth_only"), "{without:?}");
    let with = codes(&with_england(allocation_inputs(false), 2024));
    assert!(!with.contains(&"england_growth_missing"), "{with:?}");
}

/// Costs at the price base, inflated a year at a time to each January's financial year,
/// with home-to-school transport per child on top: special places at GBP 10,000 (2024-25
/// prices), transport GBP 2,000, inflation 10%.
#[test]
fn costs_carry_inflation_from_their_price_base_and_transport() {
    use rust_decimal::Decimal;
    let mut inputs = hand_inputs();
    inputs
        .costs
        .insert((la("888"), PlaceKind::Special), Decimal::from(10_000));
    inputs.price_base.insert(la("888"), 2024);
    // Places for all: no child is placed out of county (at another rate).
    inputs.capacity.insert(
        (gss(D1), PlaceKind::Special, Phase::Primary),
        BTreeMap::from([(2020, 1_000)]),
    );
    let cost = |options: &Options, year| {
        let f = forecast(&inputs, options).unwrap();
        let r = f
            .rows
            .iter()
            .find(|r| {
                r.kind == PlaceKind::Special
                    && r.year == year
                    && r.need.is_none()
                    && r.phase == Phase::Primary
            })
            .unwrap()
            .clone();
        (r.demand.p50, r.annual_cost.unwrap())
    };
    let plain = quiet();
    let (n, c) = cost(&plain, 2026);
    assert_eq!(c, Decimal::from(10_000 * n), "no inflation unless asked");
    let priced = Options {
        inflation: 0.10,
        transport: vec![(PlaceKind::Special, Decimal::from(2_000))],
        ..quiet()
    };
    // January 2025 is in 2024-25, the price base: no inflation yet.
    let (n, c) = cost(&priced, 2025);
    assert_eq!(c, Decimal::from(12_000 * n));
    // January 2026 is in 2025-26: a year of it.
    let (n, c) = cost(&priced, 2026);
    assert_eq!(
        c,
        (Decimal::from(12_000 * n) * Decimal::new(11, 1)).round_dp(2)
    );
}

#[test]
fn totals_are_exactly_the_sums_of_their_cells() {
    let f = forecast(&hand_inputs(), &Options::default()).unwrap();
    assert!(!f.totals.is_empty());
    for t in &f.totals {
        let cells = f.rows.iter().filter(|r| {
            r.need.is_none()
                && r.year == t.year
                && r.kind == t.kind
                && t.authority.as_ref().is_none_or(|a| &r.authority == a)
        });
        let (demand, ooc) = cells.fold((0, 0), |(d, o), r| {
            (d + r.demand.p50, o + r.out_of_county.p50)
        });
        assert_eq!((t.demand, t.out_of_county), (demand, ooc), "{t:?}");
    }
    // And pan-area totals are the sums of the authorities'.
    let f = forecast(&allocation_inputs(true), &Options::default()).unwrap();
    for pan in f.totals.iter().filter(|t| t.authority.is_none()) {
        let sum: i64 = f
            .totals
            .iter()
            .filter(|t| t.authority.is_some() && t.year == pan.year && t.kind == pan.kind)
            .map(|t| t.demand)
            .sum();
        assert_eq!(pan.demand, sum);
    }
}

#[test]
fn ranges_hold_the_median_and_widen_with_the_horizon() {
    let options = Options::default();
    let f = forecast(&hand_inputs(), &options).unwrap();
    for row in &f.rows {
        assert!(row.demand.p10 <= row.demand.p50 && row.demand.p50 <= row.demand.p90);
    }
    let plans = &f.caseload[&la("888")];
    let widths: Vec<i64> = plans.values().map(|r| r.p90 - r.p10).collect();
    assert!(widths.windows(2).all(|w| w[0] <= w[1]), "{widths:?}");
    assert!(widths[widths.len() - 1] > widths[0], "{widths:?}");
    // The same seed, the same forecast; another seed, other draws.
    assert_eq!(forecast(&hand_inputs(), &options).unwrap(), f);
    let other = forecast(
        &hand_inputs(),
        &Options {
            seed: 7,
            ..options.clone()
        },
    )
    .unwrap();
    assert_ne!(other.caseload, f.caseload);
}

#[test]
fn ranges_are_sized_by_the_models_own_track_record_and_the_national_one() {
    // Plans that grow in fits and starts: the trend's runs spread as widely as the yearly
    // swings (and half as much again), but the trend through them has missed by less.
    let mut t = TableHistory::default();
    for (year, n) in [
        (2015, 1_000),
        (2016, 1_200),
        (2017, 1_230),
        (2018, 1_500),
        (2019, 1_520),
        (2020, 1_830),
        (2021, 1_850),
        (2022, 2_200),
        (2023, 2_210),
        (2024, 2_600),
    ] {
        t.totals.insert(year, n);
    }
    let actual = t.totals.clone();
    let inputs = Inputs {
        authorities: BTreeMap::from([(la("890"), authority("Blackpool", &[C1]))]),
        send: BTreeMap::from([(la("890"), SendHistory::Tables(t))]),
        ..Inputs::default()
    };
    let calibrated = forecast(&inputs, &Options::default()).unwrap();
    let plain = forecast(
        &inputs,
        &Options {
            calibrate: false,
            ..Options::default()
        },
    )
    .unwrap();

    // The track record worked out from outside: the central path from each earlier
    // January with only what was known then (a trend needs four Januaries, so 2018 is the
    // first), each error in logs divided by its years ahead.
    let mut scaled = Vec::new();
    let mut origins = 0;
    for past in 2015..2024 {
        let f = forecast(
            &inputs.before(past + 1),
            &Options {
                origin: Some(past),
                horizon: (2024 - past) as u8,
                noise: false,
                runs: 1,
                calibrate: false,
                ..Options::default()
            },
        )
        .unwrap();
        if f.flags[&la("890")].contains(&Flag::ShortHistory) {
            continue;
        }
        origins += 1;
        for (year, range) in &f.caseload[&la("890")] {
            let got = f64::from(actual[year]);
            scaled.push((got / range.p50 as f64).ln() / f64::from(year - past));
        }
    }
    assert_eq!(origins, 6);
    let per_year = (scaled.iter().map(|x| x * x).sum::<f64>() / scaled.len() as f64).sqrt();
    let rates = &calibrated.rates[&la("890")];
    assert_eq!(rates.past_forecasts, origins);
    assert!((rates.past_error_per_year.unwrap() - per_year).abs() < 1e-9);
    assert_eq!(plain.rates[&la("890")].past_forecasts, 0);

    // One year ahead, the spread (in logs) is the authority's record and the national
    // record weighed 6 to 3; a single-term trend scales exactly, so only rounding is left.
    let spread = |r: &Range| (r.p90 as f64 / r.p10 as f64).ln() / (2.0 * 1.281_551_565_5);
    let national = engine::NATIONAL_SPREAD[0];
    let got = spread(&calibrated.caseload[&la("890")][&2025]);
    let want = ((6.0 * per_year * per_year + 3.0 * national * national) / 9.0).sqrt();
    assert!((got - want).abs() / want < 0.01, "{got} vs {want}");
    assert!(per_year.min(national) < got && got < per_year.max(national));
    // Without calibration the runs keep their own spread, which is another.
    let own = spread(&plain.caseload[&la("890")][&2025]);
    assert!((own - got).abs() / got > 0.05, "{own} vs {got}");
    // Still ranges around the median that widen with the horizon.
    let widths: Vec<i64> = calibrated.caseload[&la("890")]
        .values()
        .map(|r| {
            assert!(r.p10 <= r.p50 && r.p50 <= r.p90);
            r.p90 - r.p10
        })
        .collect();
    assert!(widths.windows(2).all(|w| w[0] <= w[1]), "{widths:?}");
}

#[test]
fn an_authority_without_a_record_of_its_own_gets_the_national_spread() {
    // Three Januaries: no earlier forecast of its own to size its ranges on.
    let mut t = TableHistory::default();
    for (year, n) in [(2022, 1_000), (2023, 1_100), (2024, 1_150)] {
        t.totals.insert(year, n);
    }
    let inputs = Inputs {
        authorities: BTreeMap::from([(la("890"), authority("Blackpool", &[C1]))]),
        send: BTreeMap::from([(la("890"), SendHistory::Tables(t))]),
        ..Inputs::default()
    };
    let f = forecast(&inputs, &Options::default()).unwrap();
    assert_eq!(f.rates[&la("890")].past_forecasts, 0);
    let spread = |r: &Range| (r.p90 as f64 / r.p10 as f64).ln() / (2.0 * 1.281_551_565_5);
    for (h, year) in (1..=3).zip(2025..) {
        let got = spread(&f.caseload[&la("890")][&year]);
        let want = engine::national_spread(h);
        assert!((got - want).abs() / want < 0.03, "{h}: {got} vs {want}");
    }
}

#[test]
fn an_authoritys_forecast_is_the_same_whichever_others_are_loaded() {
    // Lancashire alone, and with two more authorities: its ranges (and everything else of
    // its own) are the same, because each authority draws from its own random stream.
    let mut all = allocation_inputs(false);
    all.send.insert(la("889"), table_authority(40, false));
    all.send.insert(la("890"), table_authority(60, true));
    let alone = Inputs {
        authorities: all
            .authorities
            .iter()
            .filter(|(a, _)| a.as_str() == "888")
            .map(|(a, x)| (a.clone(), x.clone()))
            .collect(),
        send: all
            .send
            .iter()
            .filter(|(a, _)| a.as_str() == "888")
            .map(|(a, x)| (a.clone(), x.clone()))
            .collect(),
        ..all.clone()
    };
    let options = Options {
        runs: 300,
        ..Options::default()
    };
    let with_others = forecast(&all, &options).unwrap();
    let on_its_own = forecast(&alone, &options).unwrap();
    assert!(with_others.caseload.len() > 1);
    assert_eq!(
        with_others.caseload[&la("888")],
        on_its_own.caseload[&la("888")]
    );
    assert_eq!(with_others.rates[&la("888")], on_its_own.rates[&la("888")]);
}

#[test]
fn the_forecast_is_the_same_on_any_number_of_threads() {
    // Three authorities sharing places, more runs than one block, split unevenly.
    let inputs = allocation_inputs(true);
    let on = |threads| {
        forecast(
            &inputs,
            &Options {
                runs: 203,
                threads,
                ..Options::default()
            },
        )
        .unwrap()
    };
    let one = on(1);
    assert!(!one.rows.is_empty());
    for threads in [2, 3, 7] {
        assert_eq!(on(threads), one, "{threads} threads");
    }
}

#[test]
fn an_authority_known_only_by_its_totals_still_gets_a_flagged_forecast() {
    let mut totals = TableHistory::default();
    for (year, n) in [(2021, 1_000), (2022, 1_100), (2023, 1_210), (2024, 1_331)] {
        totals.totals.insert(year, n);
    }
    let inputs = Inputs {
        authorities: BTreeMap::from([(la("890"), authority("Blackpool", &[C1]))]),
        send: BTreeMap::from([(la("890"), SendHistory::Tables(totals))]),
        ..Inputs::default()
    };
    let f = forecast(
        &inputs,
        &Options {
            damping: 1.0,
            ..Options::default()
        },
    )
    .unwrap();
    let flags = &f.flags[&la("890")];
    for flag in [
        Flag::NoChildLevelHistory,
        Flag::NoPopulation,
        Flag::NoAgeBreakdown,
        Flag::NoNeedBreakdown,
        Flag::NoPlacementBreakdown,
    ] {
        assert!(flags.contains(&flag), "{flag:?} in {flags:?}");
    }
    // Its own 10% a year carries on.
    let next = f.caseload[&la("890")][&2025];
    assert!((1_440..=1_490).contains(&next.p50), "{next:?}");
    assert!(next.p10 < next.p50 && next.p50 < next.p90);
    assert!(f.rows.iter().any(|r| r.demand.p50 > 0));
}

#[test]
fn backtest_scores_the_model_beside_the_baselines() {
    // Exactly 10% growth a year: the compound-growth baseline is perfect, last value is
    // 1/1.1 of the truth one year ahead.
    let mut t = TableHistory::default();
    for (i, year) in (2015..=2024).enumerate() {
        t.totals
            .insert(year, (1_000.0 * 1.1_f64.powi(i as i32)).round() as u32);
    }
    let inputs = Inputs {
        authorities: BTreeMap::from([(la("889"), authority("Blackburn with Darwen", &[B1]))]),
        send: BTreeMap::from([(la("889"), SendHistory::Tables(t))]),
        ..Inputs::default()
    };
    let b = backtest(
        &inputs,
        3,
        &Options {
            runs: 200,
            damping: 1.0,
            ..Options::default()
        },
    );
    // An origin is the last January a forecast sees: 2017 (the third January, two years of
    // growth) to 2023 (the last with a January after it).
    assert_eq!(b.origins, (2017..=2023).collect::<Vec<_>>());
    let summary = |method, horizon| {
        b.summary
            .iter()
            .find(|s| s.method == method && s.horizon == horizon)
            .unwrap()
    };
    assert!(summary(Method::CompoundGrowth, 1).mape < 0.1);
    let last = summary(Method::LastValue, 1);
    assert!((last.mape - 100.0 / 11.0).abs() < 0.1, "{last:?}");
    assert!(last.bias < 0.0);
    let model = summary(Method::Model, 3);
    assert!(model.mape < 1.0, "{model:?}");
    assert!(model.coverage.is_some());
    // Each origin forecasts from what was known by its January: origin 2018's first year is
    // January 2019, and its last value is January 2018's.
    let row = b
        .rows
        .iter()
        .find(|r| r.origin == 2018 && r.horizon == 1 && r.method == Method::LastValue)
        .unwrap();
    assert_eq!((row.year, row.forecast), (2019, 1_331.0));
}

mod scenarios {
    use super::*;
    use chrono::NaiveDate;
    use placeledger_capacity::Capacity;
    use placeledger_domain::{AgeBand, Lever, Money, NeedPlaces, ProvisionKind};
    use placeledger_forecast::from_projections::apply_scenario;
    use rust_decimal::Decimal;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn with(inputs: &Inputs, levers: &[Lever], name: &str) -> Forecast {
        let mut inputs = inputs.clone();
        let levers = apply_scenario(&mut inputs, &Capacity::default(), &la("888"), levers).unwrap();
        forecast(
            &inputs,
            &Options {
                levers,
                scenario: Some(name.into()),
                ..quiet()
            },
        )
        .unwrap()
    }

    #[test]
    fn opening_70_places_turns_a_deficit_into_a_surplus_in_exactly_those_cells() {
        let inputs = allocation_inputs(false);
        let base = forecast(&inputs, &quiet()).unwrap();
        let open = Lever::OpenPlaces {
            district: gss(D1),
            kind: ProvisionKind::SpecialMaintained,
            low_age: 4,
            high_age: 10,
            from: d("2025-09-01"),
            places: vec![NeedPlaces {
                need: Some(PrimaryNeed::Asd),
                places: 70,
            }],
        };
        let scenario = with(&inputs, &[open], "burnley-special-70");
        assert_eq!(scenario.scenario.as_deref(), Some("burnley-special-70"));
        // January 2025 is before the places open: still 30 short.
        assert_eq!(
            special_row(&scenario, D1, 2025).surplus,
            Some(Range::exact(-30))
        );

        let diff = compare(&base, &scenario);
        let years: Vec<i32> = (2026..=2034).collect();
        assert_eq!(diff.changes.len(), years.len(), "{:#?}", diff.changes);
        for (change, year) in diff.changes.iter().zip(years) {
            assert_eq!(
                (
                    &change.district,
                    change.year,
                    change.phase,
                    change.kind,
                    change.need
                ),
                (&gss(D1), year, Phase::Primary, PlaceKind::Special, None)
            );
            assert_eq!(
                (change.capacity, change.surplus, change.demand),
                (70, 70, 0)
            );
            assert_eq!(change.out_of_county, -20);
            assert!(change.deficit_before && !change.deficit_after);
        }
        assert_eq!(
            special_row(&scenario, D1, 2026).surplus,
            Some(Range::exact(40))
        );
    }

    /// The places a scenario adds cost what the reference file says a place cost Lancashire
    /// in its 2025 expansion (GBP 8.2m for 169 special places), with the source; a kind with
    /// no cost on record is listed, unpriced.
    #[test]
    fn the_places_a_scenario_adds_are_costed_at_the_capital_rate_on_record() {
        use placeledger_forecast::{capital_cost, capital_rates};
        let rates = capital_rates();
        let special = rates.iter().find(|r| r.kind == PlaceKind::Special).unwrap();
        assert_eq!(special.per_place, Decimal::new(4_852_071, 2));
        assert!(special.source.contains("ID=26897"), "{special:?}");
        let open = |kind, places| Lever::OpenPlaces {
            district: gss(D1),
            kind,
            low_age: 4,
            high_age: 10,
            from: d("2026-09-01"),
            places: vec![NeedPlaces { need: None, places }],
        };
        let c = capital_cost(
            &[
                open(ProvisionKind::SpecialMaintained, 70),
                open(ProvisionKind::ApMaintained, 10),
            ],
            &Capacity::default(),
            &rates,
        );
        assert_eq!(c.items.len(), 2);
        assert_eq!(
            c.items[0].cost,
            Some(Decimal::new(4_852_071, 2) * Decimal::from(70))
        );
        assert_eq!(c.items[1].cost, None, "no AP capital cost on record");
        assert_eq!(c.total, Decimal::new(4_852_071, 2) * Decimal::from(70));
    }

    #[test]
    fn shifting_new_plans_multiplying_incidence_and_changing_a_cost() {
        let mut inputs = hand_inputs();
        inputs
            .costs
            .insert((la("888"), PlaceKind::Special), Decimal::from(10_000));
        inputs.costs.insert(
            (la("888"), PlaceKind::ResourcedProvision),
            Decimal::from(8_000),
        );
        inputs
            .costs
            .insert((la("888"), PlaceKind::Independent), Decimal::from(60_000));
        // Enough special places that nobody overflows (so the cost is all at the special rate).
        inputs.capacity.insert(
            (gss(D1), PlaceKind::Special, Phase::Primary),
            BTreeMap::from([(2020, 1_000)]),
        );
        let shift = Lever::ShiftNewPlans {
            need: PrimaryNeed::Asd,
            ages: AgeBand::new(4, 10).unwrap(),
            to: ProvisionKind::MainstreamAcademyRp,
            percent: Decimal::from(50),
        };
        let f = with(&inputs, &[shift], "rp-first");
        let row = |f: &Forecast, kind, year| {
            f.rows
                .iter()
                .find(|r| {
                    r.kind == kind
                        && r.year == year
                        && r.phase == Phase::Primary
                        && r.need.is_none()
                })
                .unwrap()
                .demand
                .p50
        };
        // Jan 2025: 20 new five-year-olds, half to resourced provision; the 18 and 90 held
        // at the origin stay where they are.
        assert_eq!(row(&f, PlaceKind::ResourcedProvision, 2025), 10);
        assert_eq!(row(&f, PlaceKind::Special, 2025), 10 + 18 + 90);
        // There are no resourced-provision places here, so the ten are placed in another
        // area's: still at the resourced-provision rate, never an independent school's.
        let rp = f
            .rows
            .iter()
            .find(|r| {
                r.kind == PlaceKind::ResourcedProvision
                    && r.year == 2025
                    && r.phase == Phase::Primary
                    && r.need.is_none()
            })
            .unwrap();
        assert_eq!(rp.out_of_county.p50, 10);
        assert_eq!(rp.annual_cost, Some(Decimal::from(10 * 8_000)));

        // A tenth more new plans: 22 new five-year-olds instead of 20.
        let more = Lever::IncidenceMultiplier {
            authority: None,
            multiplier: Decimal::new(11, 1),
        };
        let f = with(&inputs, &[more], "more");
        assert_eq!(f.caseload[&la("888")][&2025], Range::exact(18 + 90 + 22));

        // Special places cost 12,000 from April 2026: January 2027 on.
        let dearer = Lever::ChangeCost {
            authority: la("888"),
            kind: ProvisionKind::SpecialMaintained,
            from: d("2026-04-01"),
            annual_cost: Money::new(Decimal::from(12_000)).unwrap(),
        };
        let base = forecast(&inputs, &quiet()).unwrap();
        let f = with(&inputs, &[dearer], "dearer");
        let cost = |f: &Forecast, year| {
            f.rows
                .iter()
                .find(|r| {
                    r.kind == PlaceKind::Special
                        && r.year == year
                        && r.phase == Phase::Primary
                        && r.need.is_none()
                })
                .unwrap()
                .annual_cost
                .unwrap()
        };
        assert_eq!(cost(&f, 2026), cost(&base, 2026));
        assert_eq!(cost(&f, 2027), cost(&base, 2027) * Decimal::new(12, 1));
        let diff = compare(&base, &f);
        assert_eq!(
            diff.total_cost,
            diff.cost_by_year.values().copied().sum::<Decimal>()
        );
        assert!(diff.total_cost > Decimal::ZERO);
        assert_eq!(diff.cost_by_year.get(&2026), Some(&Decimal::ZERO));
    }
}

mod replay {
    use super::*;
    use chrono::NaiveDate;
    use placeledger_capacity::Capacity;
    use placeledger_caseload::Caseload;
    use placeledger_costs::Costs;
    use placeledger_domain::*;
    use placeledger_forecast::from_projections::{Projections, inputs};
    use placeledger_mainstream::Mainstream;
    use placeledger_projection::{Projection, fold_with_restarts};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Geography, two special schools, 400 children with plans issued 2014-2024 (some
    /// ceasing, some moving district), placements, population and costs.
    fn history() -> Vec<Event> {
        let la = la("888");
        let districts = [gss(D1), gss(D2)];
        let mut e = vec![Event::AuthorityRegistered {
            authority: la.clone(),
            gss: gss("E10000017"),
            name: "Lancashire".into(),
        }];
        for (i, district) in districts.iter().enumerate() {
            e.push(Event::DistrictRegistered {
                district: district.clone(),
                authority: la.clone(),
                name: format!("District {i}"),
            });
            e.push(Event::SettingOpened {
                urn: Urn::parse(&format!("11900{i}")).unwrap(),
                name: format!("Synthetic special school {i}"),
                authority: la.clone(),
                district: district.clone(),
                planning_area: None,
                kind: SettingKind::SpecialMaintained,
                phase: Phase::AllThrough,
                low_age: 4,
                high_age: 19,
                facility: None,
                designated_needs: vec![],
                opened_on: d(2010, 9, 1),
            });
            for year in 2014..=2030 {
                e.push(Event::PlacesCommissioned {
                    urn: Urn::parse(&format!("11900{i}")).unwrap(),
                    year: AcademicYear::new(year).unwrap(),
                    places: vec![NeedPlaces {
                        need: None,
                        places: 60,
                    }],
                });
                for age in 0..=25 {
                    e.push(Event::PopulationRecorded {
                        area: district.clone(),
                        year,
                        age: AgeGroup::single(age).unwrap(),
                        persons: Decimal::from(1_000 + age * 3),
                        basis: PopulationBasis::Estimate,
                        release: "synthetic".into(),
                    });
                }
            }
        }
        e.push(Event::PlacementCostSet {
            authority: la.clone(),
            kind: ProvisionKind::SpecialMaintained,
            from: d(2015, 4, 1),
            annual_cost: Money::new(Decimal::from(24_000)).unwrap(),
        });
        for i in 0..400_i32 {
            let child = ChildId::parse(&format!("SYN-{i:05}")).unwrap();
            let home = districts[(i % 2) as usize].clone();
            let issued = d(2014 + i % 11, 1 + (i % 12) as u32, 3);
            e.push(Event::ChildRegistered {
                child: child.clone(),
                authority: la.clone(),
                born: YearMonth::new(2005 + i % 15, 1 + (i % 12) as u32).unwrap(),
                district: home,
                registered_on: issued,
            });
            e.push(Event::PlanIssued {
                child: child.clone(),
                issued_on: issued,
                primary_need: PrimaryNeed::ALL[(i % 12) as usize],
                secondary_needs: vec![],
                transfer_in: None,
            });
            e.push(Event::PlacementStarted {
                child: child.clone(),
                started_on: issued,
                placed_at: PlacedAt::Setting {
                    urn: Urn::parse(&format!("11900{}", i % 2)).unwrap(),
                    facility: None,
                },
            });
            if i % 7 == 0 {
                e.push(Event::ChildMovedHome {
                    child: child.clone(),
                    moved_on: issued + chrono::Days::new(400),
                    home: NewHome::District {
                        district: districts[((i + 1) % 2) as usize].clone(),
                    },
                });
            }
            if i % 5 == 0 {
                e.push(Event::PlanCeased {
                    child,
                    ceased_on: issued + chrono::Days::new(900),
                    reason: CeaseReason::NeedsMet,
                });
            }
        }
        e
    }

    /// A child of Lancashire born in March `born`, living in `D1`, with a plan from March 2023,
    /// placed at `urn` from September 2023; a move within the district in March 2025 makes the
    /// log run past January 2025.
    fn placed_child(id: &str, born: i32, need: PrimaryNeed, urn: Urn) -> Vec<Event> {
        let child = ChildId::parse(id).unwrap();
        vec![
            Event::ChildRegistered {
                child: child.clone(),
                authority: la("888"),
                born: YearMonth::new(born, 3).unwrap(),
                district: gss(D1),
                registered_on: d(2023, 3, 1),
            },
            Event::PlanIssued {
                child: child.clone(),
                issued_on: d(2023, 3, 1),
                primary_need: need,
                secondary_needs: vec![],
                transfer_in: None,
            },
            Event::PlacementStarted {
                child: child.clone(),
                started_on: d(2023, 9, 1),
                placed_at: PlacedAt::Setting {
                    urn,
                    facility: None,
                },
            },
            Event::ChildMovedHome {
                child,
                moved_on: d(2025, 3, 1),
                home: NewHome::District { district: gss(D1) },
            },
        ]
    }

    /// Lancashire with one district, `D1`.
    fn one_district() -> Vec<Event> {
        vec![
            Event::AuthorityRegistered {
                authority: la("888"),
                gss: gss("E10000017"),
                name: "Lancashire".into(),
            },
            Event::DistrictRegistered {
                district: gss(D1),
                authority: la("888"),
                name: "District".into(),
            },
        ]
    }

    /// Three young people at a further education college and one at a specialist post-16
    /// institution, with the authority's rates for those and for UKRLP providers (which
    /// nobody attends).
    fn post_16_history() -> Vec<Event> {
        let la = la("888");
        let mut e = one_district();
        for (urn, kind) in [
            ("130001", SettingKind::FeCollege),
            ("130002", SettingKind::SpecialistPost16),
        ] {
            e.push(Event::SettingOpened {
                urn: Urn::parse(urn).unwrap(),
                name: format!("Post-16 setting {urn}"),
                authority: la.clone(),
                district: gss(D1),
                planning_area: None,
                kind,
                phase: Phase::Post16,
                low_age: 16,
                high_age: 25,
                facility: None,
                designated_needs: vec![],
                opened_on: d(2010, 9, 1),
            });
        }
        for (kind, cost) in [
            (ProvisionKind::FeCollege, 10_079),
            (ProvisionKind::SpecialistPost16, 55_907),
            (ProvisionKind::UkrlpProvider, 20_000),
        ] {
            e.push(Event::PlacementCostSet {
                authority: la.clone(),
                kind,
                from: d(2015, 4, 1),
                annual_cost: Money::new(Decimal::from(cost)).unwrap(),
            });
        }
        for i in 0..4 {
            let urn = Urn::parse(if i < 3 { "130001" } else { "130002" }).unwrap();
            e.extend(placed_child(
                &format!("P16-{i:05}"),
                2008,
                PrimaryNeed::Asd,
                urn,
            ));
        }
        e
    }

    /// An all-through special school for ages 2-19 with 90 places, whose 30 pupils are 20
    /// seven-year-olds and 10 thirteen-year-olds: its places go where its pupils are (60
    /// primary, 30 secondary), none to the nursery or post-16 phases no child is in.
    #[test]
    fn a_settings_places_go_to_the_phases_of_its_pupils() {
        let la = la("888");
        let urn = Urn::parse("119100").unwrap();
        let mut e = one_district();
        e.extend([
            Event::SettingOpened {
                urn,
                name: "All-through special school".into(),
                authority: la.clone(),
                district: gss(D1),
                planning_area: None,
                kind: SettingKind::SpecialMaintained,
                phase: Phase::AllThrough,
                low_age: 2,
                high_age: 19,
                facility: None,
                designated_needs: vec![],
                opened_on: d(2010, 9, 1),
            },
            Event::PlacesCommissioned {
                urn,
                year: AcademicYear::new(2024).unwrap(),
                places: vec![NeedPlaces {
                    need: None,
                    places: 90,
                }],
            },
        ]);
        for i in 0..30 {
            // Academic age in 2024/25: 7 (born 2017), or 13 (born 2011).
            let born = if i < 20 { 2017 } else { 2011 };
            e.extend(placed_child(
                &format!("ATS-{i:05}"),
                born,
                PrimaryNeed::Sld,
                urn,
            ));
        }
        let (caseload, capacity, mainstream, costs): (Caseload, Capacity, Mainstream, Costs) =
            (at_once(&e), at_once(&e), at_once(&e), at_once(&e));
        let inputs = inputs(
            Projections {
                caseload: &caseload,
                capacity: &capacity,
                mainstream: &mainstream,
                costs: &costs,
            },
            Default::default(),
        );
        let places = |phase| inputs.places(&(gss(D1), PlaceKind::Special, phase), 2025);
        assert_eq!(places(Phase::Primary), Some(60));
        assert_eq!(places(Phase::Secondary), Some(30));
        assert_eq!(places(Phase::Nursery).unwrap_or(0), 0);
        assert_eq!(places(Phase::Post16).unwrap_or(0), 0);
    }

    /// Post-16 is costed by where the young people actually are: 3 x GBP 10,079 + 1 x
    /// GBP 55,907 = GBP 86,144 for today's four, not four times the plain average of the
    /// three rates on record; the rate of UKRLP providers, where nobody is, weighs nothing.
    #[test]
    fn post_16_is_costed_by_the_real_mix() {
        let events = post_16_history();
        let (caseload, capacity, mainstream, costs): (Caseload, Capacity, Mainstream, Costs) = (
            at_once(&events),
            at_once(&events),
            at_once(&events),
            at_once(&events),
        );
        let inputs = inputs(
            Projections {
                caseload: &caseload,
                capacity: &capacity,
                mainstream: &mainstream,
                costs: &costs,
            },
            Default::default(),
        );
        // Further education (and UKRLP providers, where nobody is) and specialist post-16
        // are sectors of their own, each at its rate.
        let fe = inputs.costs[&(la("888"), PlaceKind::FeCollege)];
        let specialist = inputs.costs[&(la("888"), PlaceKind::SpecialistPost16)];
        assert_eq!(fe, Decimal::from(10_079));
        assert_eq!(specialist, Decimal::from(55_907));
        assert_eq!(
            fe * Decimal::from(3) + specialist,
            Decimal::from(86_144),
            "today's four"
        );
        // A forecast row prices its demand at its sector's rate, to the penny.
        let f = forecast(
            &inputs,
            &Options {
                runs: 1,
                noise: false,
                horizon: 2,
                ..Options::default()
            },
        )
        .unwrap();
        let rows: Vec<&Row> = f
            .rows
            .iter()
            .filter(|r| {
                matches!(r.kind, PlaceKind::FeCollege | PlaceKind::SpecialistPost16)
                    && r.need.is_none()
                    && r.demand.p50 > 0
            })
            .collect();
        assert!(
            rows.iter().any(|r| r.kind == PlaceKind::FeCollege),
            "{rows:#?}"
        );
        assert!(
            rows.iter().any(|r| r.kind == PlaceKind::SpecialistPost16),
            "{rows:#?}"
        );
        for r in rows {
            let rate = if r.kind == PlaceKind::FeCollege {
                fe
            } else {
                specialist
            };
            assert_eq!(
                r.annual_cost,
                Some((rate * Decimal::from(r.demand.p50)).round_dp(2)),
                "{r:?}"
            );
        }
    }

    fn forecast_from(
        caseload: &Caseload,
        capacity: &Capacity,
        mainstream: &Mainstream,
        costs: &Costs,
    ) -> Forecast {
        let inputs = inputs(
            Projections {
                caseload,
                capacity,
                mainstream,
                costs,
            },
            Default::default(),
        );
        forecast(
            &inputs,
            &Options {
                runs: 50,
                horizon: 4,
                ..Options::default()
            },
        )
        .unwrap()
    }

    fn at_once<P: Projection>(events: &[Event]) -> P {
        let mut p = P::default();
        p.apply_all(events);
        p
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Projections folded in one pass, or in batches with a restart at each cut, give
        /// the same forecast.
        #[test]
        fn a_forecast_from_replayed_projections_equals_one_from_incremental_ones(
            cuts in prop::collection::vec(0usize..4_000, 1..5),
        ) {
            let events = history();
            let replayed = forecast_from(
                &at_once(&events),
                &at_once(&events),
                &at_once(&events),
                &at_once(&events),
            );
            prop_assert!(replayed.rows.iter().any(|r| r.demand.p50 > 0));
            let incremental = forecast_from(
                &fold_with_restarts(&events, &cuts),
                &fold_with_restarts(&events, &cuts),
                &fold_with_restarts(&events, &cuts),
                &fold_with_restarts(&events, &cuts),
            );
            prop_assert_eq!(replayed, incremental);
        }
    }
}

mod mainstream {
    use super::*;
    use placeledger_domain::PlanningAreaCode;

    /// One primary planning area: every January 2020-2024, 100 in Reception and 98 in each
    /// of Y1-Y6, from 1,000 resident 4-year-olds; 750 places. Mid-2024 has 1,200
    /// 4-year-olds. 4 dwellings a year, 0.25 primary pupils each.
    fn inputs(dwellings: u32) -> Inputs {
        let mut population = flat_population(&[D1]);
        population.insert(&gss(D1), 2024, 4, 1_200.0);
        let rolls: BTreeMap<i32, BTreeMap<i8, u32>> = (2020..=2024)
            .map(|y| {
                (
                    y,
                    (0..=6)
                        .map(|g| (g, if g == 0 { 100 } else { 98 }))
                        .collect(),
                )
            })
            .collect();
        let capacity = BTreeMap::from([(2020, (0..=6).map(|g| (g, 107)).collect())]);
        let area = MainstreamArea {
            authority: la("888"),
            district: gss(D1),
            phase: Phase::Primary,
            name: "Burnley primary".into(),
            rolls,
            capacity,
        };
        Inputs {
            authorities: BTreeMap::from([(la("888"), authority("Lancashire", &[D1]))]),
            population,
            mainstream: BTreeMap::from([(
                PlanningAreaCode::parse("E07000117-primary").unwrap(),
                area,
            )]),
            housing: BTreeMap::from([(
                gss(D1),
                Housing {
                    dwellings: (2020..=2024).map(|y| (y, dwellings)).collect(),
                    yield_per_dwelling: BTreeMap::from([(Phase::Primary, 0.25)]),
                },
            )]),
            ..Inputs::default()
        }
    }

    #[test]
    fn cohorts_survive_and_reception_follows_the_four_year_olds() {
        let rows = forecast_mainstream(&inputs(0), 2024, 3, 5, 1, false);
        assert_eq!(rows.len(), 5, "primary: a five-year horizon");
        // Jan 2025: Reception 0.1 x 1,200 = 120; Y1 100 x 0.98 = 98; Y2-Y6 98 each.
        assert_eq!(rows[0].year, 2025);
        assert_eq!(rows[0].pupils, Range::exact(120 + 98 * 6));
        // Jan 2026: Reception 100; Y1 120 x 0.98 = 117.6; Y2-Y6 98 each.
        assert_eq!(rows[1].pupils, Range::exact(708));
        assert_eq!(rows[0].net_capacity, Some(749));
        assert_eq!(rows[0].surplus, Some(Range::exact(749 - 708)));
        assert_eq!(rows[0].headroom, Some(Headroom::Sufficient));

        // Housing adds its yield on top, cumulatively: 1 pupil a year.
        let rows = forecast_mainstream(&inputs(4), 2024, 3, 5, 1, false);
        assert_eq!(rows[0].pupils, Range::exact(709));
        assert_eq!(rows[1].pupils, Range::exact(710));
        assert_eq!(rows[1].from_housing, 2);

        // With shocks, ranges hold the median and the forecast is the same for a seed.
        let a = forecast_mainstream(&inputs(0), 2024, 3, 500, 9, true);
        assert_eq!(a, forecast_mainstream(&inputs(0), 2024, 3, 500, 9, true));
        for r in &a {
            assert!(r.pupils.p10 <= r.pupils.p50 && r.pupils.p50 <= r.pupils.p90);
        }
    }

    /// Burnley's primary area (above) and a secondary one: Y7-Y11 95 each and sixth forms of
    /// 40 and 38 every January, 200 places a year group to Y11 and 60 in Y12 and Y13. As
    /// the SCAP return counts them: Y7-Y11 apart from the sixth form, capacity on the same
    /// base, the Year 7 intake, and a warning where a quarter of the places are spare.
    #[test]
    fn a_secondary_area_reports_years_7_to_11_and_its_sixth_form_apart() {
        let secondary = |y2023: u32, y8: u32| {
            let mut inputs = inputs(0);
            let rolls: BTreeMap<i32, BTreeMap<i8, u32>> = (2020..=2024)
                .map(|y| {
                    let main = if y == 2023 { y2023 } else { 95 };
                    (
                        y,
                        (7..=13)
                            .map(|g| {
                                (
                                    g,
                                    match g {
                                        8 => y8,
                                        12 => 40,
                                        13 => 38,
                                        _ => main,
                                    },
                                )
                            })
                            .collect(),
                    )
                })
                .collect();
            let capacity = BTreeMap::from([(
                2020,
                (7..=13)
                    .map(|g| (g, if g >= 12 { 60 } else { 200 }))
                    .collect(),
            )]);
            inputs.mainstream.insert(
                PlanningAreaCode::parse("E07000117-secondary").unwrap(),
                MainstreamArea {
                    authority: la("888"),
                    district: gss(D1),
                    phase: Phase::Secondary,
                    name: "Burnley secondary".into(),
                    rolls,
                    capacity,
                },
            );
            forecast_mainstream(&inputs, 2024, 3, 5, 1, false)
        };
        let rows = secondary(95, 95);
        let first = |phase| {
            rows.iter()
                .find(|r| r.phase == phase && r.year == 2025)
                .unwrap_or_else(|| panic!("{phase:?}: {rows:#?}"))
        };
        let main = first(Phase::Secondary);
        assert_eq!(main.net_capacity, Some(1_000));
        assert_eq!(main.pupils, Range::exact(5 * 95));
        assert_eq!(main.intake, Some(Range::exact(95)), "Year 7");
        let codes = |r: &MainstreamRow| r.warnings.iter().map(|w| w.code).collect::<Vec<_>>();
        assert_eq!(codes(main), ["surplus_over_25_percent"]);
        let sixth = first(Phase::Post16);
        assert_eq!(sixth.net_capacity, Some(120));
        assert_eq!(sixth.pupils, Range::exact(40 + 38));
        assert_eq!(sixth.intake, None);
        assert_eq!(codes(sixth), ["surplus_over_25_percent"]);
        let primary = first(Phase::Primary);
        assert_eq!(primary.intake, Some(Range::exact(120)), "Reception");
        assert!(primary.warnings.is_empty(), "{:?}", primary.warnings);
        // A roll that moved more than a tenth in the last year is flagged; so is a cohort
        // that shrinks or grows by more than a tenth from one year group to the next.
        let main_2025 = |rows: Vec<MainstreamRow>| {
            rows.into_iter()
                .find(|r| r.phase == Phase::Secondary && r.year == 2025)
                .unwrap()
        };
        let moved = main_2025(secondary(80, 95));
        assert!(
            codes(&moved).contains(&"roll_moved_over_10_percent"),
            "{moved:?}"
        );
        let thin = main_2025(secondary(95, 80));
        let survival = thin
            .warnings
            .iter()
            .find(|w| w.code == "survival_outside_0_9_1_1")
            .unwrap_or_else(|| panic!("{thin:?}"));
        assert!(survival.message.contains("Y7 to Y8: 0.84"), "{survival:?}");
    }
}

/// England's plans grow 10% a year to January 2024.
fn with_england(mut inputs: Inputs, last: i32) -> Inputs {
    inputs.england = (last - 2..=last)
        .map(|y| (y, (100_000.0 * 1.1_f64.powi(y - (last - 2))).round() as u32))
        .collect();
    inputs
}

#[test]
fn the_total_follows_england_s_trend_and_the_flows_decide_who_the_plans_are() {
    let f = forecast(&with_england(hand_inputs(), 2024), &quiet()).unwrap();
    let rates = &f.rates[&la("888")];
    assert!((rates.england_growth.unwrap() - 1.1_f64.ln()).abs() < 1e-4);
    let plans = &f.caseload[&la("888")];
    // January 2024's 110 plans grown 10% a year: 121, then 133.1.
    let p50 = |y: i32| plans[&y].p50;
    assert!((p50(2025) - 121).abs() <= 1, "{plans:?}");
    assert!((p50(2026) - 133).abs() <= 1, "{plans:?}");
    // Damping is for the authority's own few noisy years, not England's decade.
    let damped = forecast(
        &with_england(hand_inputs(), 2024),
        &Options {
            damping: 0.5,
            ..quiet()
        },
    )
    .unwrap();
    assert_eq!(damped.caseload, f.caseload);
    // The plans carried on are the flows' (18 + 90 in 2025, as without England); the new
    // plans make up the rest: 13 five-year-olds, not the window's 20.
    let without = forecast(&hand_inputs(), &quiet()).unwrap();
    assert_eq!(
        without.caseload[&la("888")][&2025],
        Range::exact(18 + 90 + 20)
    );
    assert!(without.rates[&la("888")].england_growth.is_none());
    // All of them are still special primary places: the flows share the total out.
    let special: i64 = f
        .rows
        .iter()
        .filter(|r| r.year == 2025 && r.need.is_none() && r.kind == PlaceKind::Special)
        .map(|r| r.demand.p50)
        .sum();
    assert_eq!(special, p50(2025));
}

#[test]
fn a_lever_moves_the_forecast_off_england_s_path_by_what_it_changes() {
    let inputs = with_england(hand_inputs(), 2024);
    let doubled = forecast(
        &inputs,
        &Options {
            levers: Levers {
                incidence: vec![(None, 2.0)],
                ..Levers::default()
            },
            ..quiet()
        },
    )
    .unwrap();
    // The path's 13 new plans doubled: 108 carried on + 26.
    let p50 = doubled.caseload[&la("888")][&2025].p50;
    assert!((p50 - (108 + 26)).abs() <= 1, "{p50}");
}

#[test]
fn a_stale_england_series_is_not_followed() {
    // England's latest January is 2021: three years before the origin, too old to follow.
    let f = forecast(&with_england(hand_inputs(), 2021), &quiet()).unwrap();
    assert!(f.rates[&la("888")].england_growth.is_none());
    assert_eq!(f.caseload[&la("888")][&2025], Range::exact(18 + 90 + 20));
}

#[test]
fn following_england_the_runs_are_centred_on_the_path_and_spread_around_it() {
    let f = forecast(&with_england(hand_inputs(), 2024), &Options::default()).unwrap();
    let plans = &f.caseload[&la("888")];
    for (year, central) in [(2025, 121.0), (2026, 133.1)] {
        let r = plans[&year];
        assert!((r.p50 as f64 - central).abs() <= 1.0, "{year}: {r:?}");
        assert!(r.p10 < r.p50 && r.p50 < r.p90, "{year}: {r:?}");
    }
    let widths: Vec<i64> = plans.values().map(|r| r.p90 - r.p10).collect();
    assert!(widths.windows(2).all(|w| w[0] <= w[1]), "{widths:?}");
}

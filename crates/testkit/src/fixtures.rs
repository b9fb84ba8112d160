//! The facts many tests start from, written once: Lancashire with its district Burnley, and
//! a special school there.

use chrono::NaiveDate;
use placeledger_domain::{
    AuthorityCode, Command, GssCode, OpenSetting, Phase, PrimaryNeed, SettingKind, Urn,
};

/// A date written `YYYY-MM-DD`.
pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s:?} is not a date: {e}"))
}

/// Lancashire's DfE code, 888.
pub fn lancashire() -> AuthorityCode {
    code(AuthorityCode::parse("888"))
}

/// Burnley's ONS code, E07000117 (a district of Lancashire).
pub fn burnley() -> GssCode {
    code(GssCode::parse("E07000117"))
}

fn code<T, E: std::fmt::Display>(parsed: Result<T, E>) -> T {
    parsed.unwrap_or_else(|e| panic!("a fixture's code does not parse: {e}"))
}

/// Lancashire and its district Burnley registered: enough to record children and open
/// settings.
pub fn lancashire_and_burnley() -> Vec<Command> {
    vec![
        Command::RegisterAuthority {
            authority: lancashire(),
            gss: code(GssCode::parse("E10000017")),
            name: "Lancashire".into(),
        },
        Command::RegisterDistrict {
            district: burnley(),
            authority: lancashire(),
            name: "Burnley".into(),
        },
    ]
}

/// A maintained all-through special school for SEMH in Burnley (URN 119999), open since
/// September 2010.
pub fn moorside_special_school() -> OpenSetting {
    OpenSetting {
        urn: code(Urn::parse("119999")),
        name: "Synthetic Moorside Special School".into(),
        authority: lancashire(),
        district: burnley(),
        planning_area: None,
        kind: SettingKind::SpecialMaintained,
        phase: Phase::AllThrough,
        low_age: 4,
        high_age: 19,
        facility: None,
        designated_needs: vec![PrimaryNeed::Semh],
        on: d("2010-09-01"),
    }
}

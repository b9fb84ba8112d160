//! Pan-Lancashire as Placeledger registers it: the three authorities, their 14 areas, the
//! planning areas, and the neighbouring authorities where out-of-county placements are.

use placeledger_domain::{
    AuthorityCode, Command, GssCode, Phase, PlanningAreaCode, State, decide, evolve,
};

use crate::SeedError;

/// One district (the unitaries are their own single district).
#[derive(Debug, Clone)]
pub struct Area {
    pub gss: GssCode,
    pub authority: AuthorityCode,
    pub name: &'static str,
}

/// The authorities and areas of the seeds.
#[derive(Debug, Clone)]
pub struct Geography {
    /// Pan-Lancashire: Lancashire, Blackburn with Darwen, Blackpool.
    pub partners: Vec<(AuthorityCode, GssCode, &'static str)>,
    /// Neighbouring authorities, registered only as the places of out-of-county settings.
    pub outside: Vec<(AuthorityCode, GssCode, &'static str)>,
    /// The 14 pan-Lancashire areas.
    pub areas: Vec<Area>,
}

const PARTNERS: &[(&str, &str, &str)] = &[
    ("888", "E10000017", "Lancashire"),
    ("889", "E06000008", "Blackburn with Darwen"),
    ("890", "E06000009", "Blackpool"),
];

const DISTRICTS: &[(&str, &str)] = &[
    ("E07000117", "Burnley"),
    ("E07000118", "Chorley"),
    ("E07000119", "Fylde"),
    ("E07000120", "Hyndburn"),
    ("E07000121", "Lancaster"),
    ("E07000122", "Pendle"),
    ("E07000123", "Preston"),
    ("E07000124", "Ribble Valley"),
    ("E07000125", "Rossendale"),
    ("E07000126", "South Ribble"),
    ("E07000127", "West Lancashire"),
    ("E07000128", "Wyre"),
];

const OUTSIDE: &[(&str, &str, &str)] = &[
    ("350", "E08000001", "Bolton"),
    ("359", "E08000010", "Wigan"),
    ("815", "E06000065", "North Yorkshire"),
    ("942", "E06000063", "Cumberland"),
];

fn parse<T>(r: Result<T, placeledger_domain::ValueError>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Reference(e.to_string()))
}

impl Geography {
    pub fn pan_lancashire() -> Result<Geography, SeedError> {
        let mut partners = Vec::new();
        for &(la, gss, name) in PARTNERS {
            partners.push((
                parse(AuthorityCode::parse(la))?,
                parse(GssCode::parse(gss))?,
                name,
            ));
        }
        let mut outside = Vec::new();
        for &(la, gss, name) in OUTSIDE {
            outside.push((
                parse(AuthorityCode::parse(la))?,
                parse(GssCode::parse(gss))?,
                name,
            ));
        }
        let mut areas = Vec::new();
        for &(gss, name) in DISTRICTS {
            areas.push(Area {
                gss: parse(GssCode::parse(gss))?,
                authority: partners[0].0.clone(),
                name,
            });
        }
        for (la, gss, name) in &partners[1..] {
            areas.push(Area {
                gss: gss.clone(),
                authority: la.clone(),
                name,
            });
        }
        Ok(Geography {
            partners,
            outside,
            areas,
        })
    }

    /// The planning area of a district for a phase: `E07000117-primary`.
    pub fn planning_area(district: &GssCode, phase: Phase) -> Result<PlanningAreaCode, SeedError> {
        parse(PlanningAreaCode::parse(&format!("{district}-{phase}")))
    }

    /// The commands that register it all.
    pub fn commands(&self) -> Result<Vec<Command>, SeedError> {
        let mut out = Vec::new();
        for (la, gss, name) in self.partners.iter().chain(&self.outside) {
            out.push(Command::RegisterAuthority {
                authority: la.clone(),
                gss: gss.clone(),
                name: (*name).to_owned(),
            });
        }
        for area in &self.areas {
            out.push(Command::RegisterDistrict {
                district: area.gss.clone(),
                authority: area.authority.clone(),
                name: area.name.to_owned(),
            });
        }
        for (la, gss, name) in &self.outside {
            out.push(Command::RegisterDistrict {
                district: gss.clone(),
                authority: la.clone(),
                name: (*name).to_owned(),
            });
        }
        for area in &self.areas {
            for phase in [Phase::Primary, Phase::Secondary] {
                out.push(Command::RegisterPlanningArea {
                    planning_area: Self::planning_area(&area.gss, phase)?,
                    district: area.gss.clone(),
                    phase,
                    name: format!("{} {phase}", area.name),
                });
            }
        }
        Ok(out)
    }

    /// The state after registering it all.
    pub fn state(&self) -> Result<State, SeedError> {
        let mut state = State::default();
        for c in self.commands()? {
            for e in decide(&state, &c).map_err(|e| SeedError::Invalid(e.to_string()))? {
                state = evolve(state, &e);
            }
        }
        Ok(state)
    }

    /// The index in `partners` of authority `la`.
    pub fn partner_index(&self, la: &AuthorityCode) -> Option<usize> {
        self.partners.iter().position(|(a, _, _)| a == la)
    }
}

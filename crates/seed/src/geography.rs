//! Pan-Lancashire as Placeledger registers it: the three authorities, their 14 areas, the
//! planning areas, and the neighbouring authorities where out-of-county placements are; and
//! England's authorities and districts from ONS's lookup, for a national history.

use placeledger_domain::{
    AuthorityCode, Command, GssCode, Phase, PlanningAreaCode, State, decide, evolve,
};

use crate::SeedError;

/// One district (the unitaries are their own single district).
#[derive(Debug, Clone)]
pub struct Area {
    pub gss: GssCode,
    pub authority: AuthorityCode,
    pub name: String,
}

/// The authorities and areas of the seeds.
#[derive(Debug, Clone)]
pub struct Geography {
    /// Pan-Lancashire: Lancashire, Blackburn with Darwen, Blackpool.
    pub partners: Vec<(AuthorityCode, GssCode, String)>,
    /// Neighbouring authorities, registered only as the places of out-of-county settings.
    pub outside: Vec<(AuthorityCode, GssCode, String)>,
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

/// ONS's lookup for England, as shipped in `seeds/reference/ons/` (SOURCES.csv says where
/// it is from).
const ENGLAND_LOOKUP: (&str, &[u8]) = (
    "lad25_ctyua25_england.csv",
    include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../seeds/reference/ons/lad25_ctyua25_england.csv"
    )),
);

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
                name.to_owned(),
            ));
        }
        let mut outside = Vec::new();
        for &(la, gss, name) in OUTSIDE {
            outside.push((
                parse(AuthorityCode::parse(la))?,
                parse(GssCode::parse(gss))?,
                name.to_owned(),
            ));
        }
        let mut areas = Vec::new();
        for &(gss, name) in DISTRICTS {
            areas.push(Area {
                gss: parse(GssCode::parse(gss))?,
                authority: partners[0].0.clone(),
                name: name.to_owned(),
            });
        }
        for (la, gss, name) in &partners[1..] {
            areas.push(Area {
                gss: gss.clone(),
                authority: la.clone(),
                name: name.clone(),
            });
        }
        Ok(Geography {
            partners,
            outside,
            areas,
        })
    }

    /// Every English county and unitary authority and its districts, from ONS's "local
    /// authority district to county and unitary authority" lookup built in from
    /// `seeds/reference/ons/` (read as `geography import` reads it: DfE's LA codes, a unitary
    /// authority its own single district). Every authority is one the history is made for;
    /// none is only a neighbour.
    pub fn england() -> Result<Geography, SeedError> {
        let parsed = placeledger_import::geography::parse(
            ENGLAND_LOOKUP.0,
            ENGLAND_LOOKUP.1,
            &State::default(),
        )
        .map_err(|problems| {
            SeedError::Reference(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let mut partners = Vec::new();
        let mut areas = Vec::new();
        for c in parsed.commands {
            match c {
                Command::RegisterAuthority {
                    authority,
                    gss,
                    name,
                } => partners.push((authority, gss, name)),
                Command::RegisterDistrict {
                    district,
                    authority,
                    name,
                } => areas.push(Area {
                    gss: district,
                    authority,
                    name,
                }),
                _ => {}
            }
        }
        Ok(Geography {
            partners,
            outside: Vec::new(),
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
                name: name.clone(),
            });
        }
        for area in &self.areas {
            out.push(Command::RegisterDistrict {
                district: area.gss.clone(),
                authority: area.authority.clone(),
                name: area.name.clone(),
            });
        }
        for (la, gss, name) in &self.outside {
            out.push(Command::RegisterDistrict {
                district: gss.clone(),
                authority: la.clone(),
                name: name.clone(),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn england_has_every_authority_and_district_of_the_lookup_and_registers_cleanly() {
        let england = Geography::england().unwrap();
        // 296 districts in the lookup; the authorities are its distinct counties and
        // unitaries, each under its DfE code.
        assert_eq!(england.areas.len(), 296);
        let counties: BTreeSet<&GssCode> = england.partners.iter().map(|p| &p.1).collect();
        assert_eq!(counties.len(), england.partners.len());
        assert!(
            (150..=155).contains(&england.partners.len()),
            "{}",
            england.partners.len()
        );
        assert!(england.outside.is_empty());
        // Every district belongs to an authority of the list, and every authority has one.
        let codes: BTreeSet<&AuthorityCode> = england.partners.iter().map(|p| &p.0).collect();
        assert!(england.areas.iter().all(|a| codes.contains(&a.authority)));
        for (la, _, name) in &england.partners {
            assert!(
                england.areas.iter().any(|a| &a.authority == la),
                "{la} {name} has no district"
            );
        }
        // It registers in the domain as it stands, planning areas included.
        let state = england.state().unwrap();
        assert_eq!(state.authorities.len(), england.partners.len());
    }

    #[test]
    fn pan_lancashire_is_what_onss_lookup_says_it_is() {
        let england = Geography::england().unwrap();
        let lancs = Geography::pan_lancashire().unwrap();
        for (la, gss, name) in &lancs.partners {
            assert!(
                england
                    .partners
                    .iter()
                    .any(|p| &p.0 == la && &p.1 == gss && &p.2 == name),
                "{la} {gss} {name}"
            );
        }
        let districts = |g: &Geography, la: &AuthorityCode| -> BTreeSet<(String, String)> {
            g.areas
                .iter()
                .filter(|a| &a.authority == la)
                .map(|a| (a.gss.to_string(), a.name.clone()))
                .collect()
        };
        for (la, _, _) in &lancs.partners {
            assert_eq!(districts(&lancs, la), districts(&england, la), "{la}");
        }
    }
}

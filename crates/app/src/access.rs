//! Who may read or record what: roles, the caller of one request, and the rules every use
//! case applies before it reads or records anything.

use chrono::NaiveDate;
use placeledger_domain::{AuthorityCode, Command, DomainError, Responsible, SharedData};
use placeledger_sharing::Sharing;

use crate::error::AppError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, every authority.
    Admin,
    /// Reads and writes its own authority; runs scenarios.
    Planner,
    /// Reads its own authority.
    Analyst,
    /// Only the shared aggregates of authorities whose data-sharing agreement names it.
    Partner,
}

/// Every role, in the order they are listed to people.
pub const ROLES: &[Role] = &[Role::Admin, Role::Planner, Role::Analyst, Role::Partner];

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner => "planner",
            Role::Analyst => "analyst",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ROLES.iter().copied().find(|r| r.code() == s)
    }
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub token_id: String,
    pub role: Role,
    /// The authority the role acts for (`None` for admin).
    pub authority: Option<AuthorityCode>,
}

impl Viewer {
    /// The operator at the machine (the `placeledger` command): may do everything; recorded
    /// events name `actor` as who recorded them.
    pub fn operator(actor: &str) -> Viewer {
        Viewer {
            token_id: actor.to_owned(),
            role: Role::Admin,
            authority: None,
        }
    }

    /// May read `authority`'s own data (child-level and aggregates).
    pub fn reads(&self, authority: &AuthorityCode) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Planner | Role::Analyst => self.authority.as_ref() == Some(authority),
            Role::Partner => false,
        }
    }

    /// May record events for `authority`.
    pub fn writes(&self, authority: &AuthorityCode) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Planner => self.authority.as_ref() == Some(authority),
            Role::Analyst | Role::Partner => false,
        }
    }

    /// The authority the caller acts for, for messages.
    fn acts_for(&self) -> &str {
        self.authority
            .as_ref()
            .map_or("no authority", AuthorityCode::as_str)
    }

    /// May record anything at all: admins and planners.
    pub fn may_record_anything(&self) -> Result<(), AppError> {
        if matches!(self.role, Role::Admin | Role::Planner) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "a {} token may not record anything",
                self.role.code()
            )))
        }
    }
}

/// The authority's own data: admins, and planners and analysts of that authority.
pub fn may_read(v: &Viewer, a: &AuthorityCode) -> Result<(), AppError> {
    if v.reads(a) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "a {} token for {} may not read {a}'s own data",
            v.role.code(),
            v.acts_for()
        )))
    }
}

/// May the caller record what `responsible` answers for? Analysts and partners record
/// nothing; planners record for their own authority; reference data owned by no authority
/// is for administrators. Another authority's child is reported exactly as an unknown one:
/// a child's id tells nothing.
pub fn may_record(
    v: &Viewer,
    command: &Command,
    responsible: &Responsible,
) -> Result<(), AppError> {
    v.may_record_anything()?;
    match responsible {
        Responsible::Authority(a) if v.writes(a) => Ok(()),
        Responsible::Unknown => Ok(()), // the domain refuses it as unknown, for anyone
        Responsible::Authority(a) => {
            // (Not for `RegisterChild`: the authority is given, not looked up.)
            if let Some(child) = command.child()
                && !matches!(command, Command::RegisterChild { .. })
            {
                Err(AppError::NotFound(
                    DomainError::Unknown {
                        field: "child",
                        what: "child",
                        id: child.to_string(),
                    }
                    .to_string(),
                ))
            } else if let Command::AddScenarioLever { scenario, .. }
            | Command::RemoveScenarioLever { scenario, .. } = command
            {
                // Another authority's scenario is reported exactly as an unknown one.
                Err(AppError::NotFound(
                    DomainError::Unknown {
                        field: "scenario",
                        what: "scenario",
                        id: scenario.to_string(),
                    }
                    .to_string(),
                ))
            } else {
                Err(AppError::Forbidden(format!(
                    "a {} token for {} may not record for {a}",
                    v.role.code(),
                    v.acts_for()
                )))
            }
        }
        Responsible::Nobody if v.role == Role::Admin => Ok(()),
        Responsible::Nobody => Err(AppError::Forbidden(
            "reference data no authority owns is recorded by administrators".into(),
        )),
    }
}

/// How a caller may see an authority's shared data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// Its own readers (and admins): every figure.
    Own,
    /// A partner its agreement shares the data with: aggregates under disclosure control.
    Partner,
}

/// Who may see `what` of `a`: its own readers in full, a partner authority `a` shares it with
/// on `on` under disclosure control; anyone else is refused.
pub fn may_see_shared(
    v: &Viewer,
    sharing: &Sharing,
    a: &AuthorityCode,
    what: SharedData,
    on: NaiveDate,
) -> Result<Sight, AppError> {
    if v.reads(a) {
        return Ok(Sight::Own);
    }
    let shares = v.role == Role::Partner
        && v.authority
            .as_ref()
            .is_some_and(|p| sharing.shares(a, p, what, on));
    if shares {
        Ok(Sight::Partner)
    } else {
        Err(AppError::Forbidden(format!(
            "{a} does not share its {} with this token's authority",
            match what {
                SharedData::Placements => "placements",
                _ => "sufficiency data",
            }
        )))
    }
}

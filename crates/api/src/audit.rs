//! Every root field a partner is refused, in the audit log: an extension that sees each root
//! field's outcome on every query and mutation. (The shared-data fields audit their reads and
//! refusals themselves, with the grouping asked for.)

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ServerResult, Value};
use placeledger_app::{Role, Viewer};

use crate::context::Services;

/// Root fields whose use case audits every partner read and refusal itself.
const AUDITED_BY_THE_SERVICE: [&str; 2] = ["placementSummary", "sharedPlaceData"];

/// Audits partners' refused root fields.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartnerRefusals;

impl ExtensionFactory for PartnerRefusals {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PartnerRefusals)
    }
}

/// A root field's arguments as asked, e.g. `authority: "888", groupBy: $g` (cut short).
pub fn arguments(field: &async_graphql::parser::types::Field) -> String {
    let mut out: String = field
        .arguments
        .iter()
        .map(|(n, v)| format!("{}: {}", n.node, v.node))
        .collect::<Vec<_>>()
        .join(", ");
    if out.chars().count() > 200 {
        out = out.chars().take(200).collect::<String>() + "...";
    }
    out
}

#[async_trait::async_trait]
impl Extension for PartnerRefusals {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root = info.path_node.parent.is_none();
        let name = info.name.to_owned();
        let args = arguments(info.field);
        // (Only root fields are audited; the arguments are formatted for them alone.)
        let result = next.run(ctx, info).await;
        if let Err(e) = &result
            && root
            && !AUDITED_BY_THE_SERVICE.contains(&name.as_str())
            && let Some(v) = ctx.data_opt::<Viewer>()
            && v.role == Role::Partner
            && let Some(s) = ctx.data_opt::<Services>()
        {
            let code = e
                .extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .map_or_else(|| "INTERNAL".to_owned(), |c| c.to_string().replace('"', ""));
            let subject = authority_asked(&args);
            if let Err(audit) = s.app.audit_refusal(v, &name, &subject, &args, &code).await {
                tracing::error!(error = %audit, "auditing a partner's refusal");
            }
        }
        result
    }
}

/// The `authority` argument's literal, if the field was given one.
fn authority_asked(args: &str) -> String {
    args.split(", ")
        .find_map(|a| a.strip_prefix("authority: "))
        .map(|v| v.trim_matches('"').chars().take(16).collect())
        .unwrap_or_default()
}

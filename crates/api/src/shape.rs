//! The shape of a request, read from its parsed document before anything runs: what kind of
//! operation, its root fields, its aliases. Limits that the executor's depth and complexity
//! rules do not cover are judged here.

use std::collections::HashSet;

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

/// Most root fields (aliases included) one request may ask for: each can be a list.
pub const MAX_ROOT_FIELDS: usize = 20;
/// Most aliased fields in one request, anywhere.
pub const MAX_ALIASES: usize = 40;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// Every operation chosen is a query.
    pub query: bool,
    /// The chosen operation is a mutation.
    pub mutation: bool,
    /// Root field names, in order (aliases resolved; fragments followed).
    pub roots: Vec<String>,
    pub aliases: usize,
    /// It asks for `__schema` or `__type`.
    pub introspection: bool,
    /// It asks for nothing but `__schema`, `__type` and `__typename`.
    pub introspection_only: bool,
}

impl Shape {
    /// The shape of the operation `name` names (none: every operation in the document).
    pub fn of(doc: &ExecutableDocument, name: Option<&str>) -> Shape {
        let mut shape = Shape {
            query: true,
            ..Shape::default()
        };
        for (op_name, op) in doc.operations.iter() {
            let chosen = name.is_none_or(|n| op_name.is_some_and(|x| x.as_str() == n));
            if !chosen {
                continue;
            }
            shape.query &= op.node.ty == OperationType::Query;
            shape.mutation |= op.node.ty == OperationType::Mutation;
            let mut seen = HashSet::new();
            roots(
                doc,
                &op.node.selection_set.node,
                &mut shape.roots,
                &mut seen,
            );
        }
        let mut seen = HashSet::new();
        for (_, op) in doc.operations.iter() {
            shape.aliases += aliases(doc, &op.node.selection_set.node, &mut seen);
        }
        shape.introspection = shape.roots.iter().any(|r| r == "__schema" || r == "__type");
        shape.introspection_only =
            shape.introspection && shape.roots.iter().all(|r| r.starts_with("__"));
        shape
    }

    /// Why the request is too big to run, if it is.
    pub fn too_big(&self) -> Option<String> {
        if self.roots.len() > MAX_ROOT_FIELDS {
            return Some(format!(
                "{} root fields: at most {MAX_ROOT_FIELDS} in one request",
                self.roots.len()
            ));
        }
        if self.aliases > MAX_ALIASES {
            return Some(format!(
                "{} aliases: at most {MAX_ALIASES} in one request",
                self.aliases
            ));
        }
        None
    }

    /// The root fields, comma-separated (for the audit log), cut short.
    pub fn root_names(&self) -> String {
        let mut names: Vec<&str> = self.roots.iter().map(String::as_str).collect();
        names.dedup();
        names.truncate(8);
        names.join(",")
    }
}

/// The root fields of a selection set, following fragments (each at most once).
fn roots<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    out: &mut Vec<String>,
    seen: &mut HashSet<&'a str>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.to_string()),
            Selection::InlineFragment(i) => roots(doc, &i.node.selection_set.node, out, seen),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if seen.insert(name)
                    && let Some(f) = doc.fragments.get(&s.node.fragment_name.node)
                {
                    roots(doc, &f.node.selection_set.node, out, seen);
                }
            }
        }
    }
}

/// Aliased fields in a selection set and below, following fragments (each at most once).
fn aliases<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    seen: &mut HashSet<&'a str>,
) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + aliases(doc, &f.node.selection_set.node, seen)
            }
            Selection::InlineFragment(i) => aliases(doc, &i.node.selection_set.node, seen),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match doc.fragments.get(&s.node.fragment_name.node) {
                    Some(f) if seen.insert(name) => aliases(doc, &f.node.selection_set.node, seen),
                    _ => 0,
                }
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(q: &str) -> Shape {
        Shape::of(&async_graphql::parser::parse_query(q).unwrap(), None)
    }

    #[test]
    fn root_fields_and_aliases_are_counted_through_fragments() {
        let s = shape(
            "query { a: viewer { role } ...F } fragment F on Query { b: viewer { role } authorities { code } }",
        );
        assert_eq!(s.roots, vec!["viewer", "viewer", "authorities"]);
        assert_eq!(s.aliases, 2);
        assert!(s.query && !s.mutation && !s.introspection);
        let wide: String = (0..200)
            .map(|i| format!("a{i}: viewer {{ role }} "))
            .collect();
        assert!(shape(&format!("{{ {wide} }}")).too_big().is_some());
    }

    #[test]
    fn introspection_alone_is_told_apart() {
        let s = shape("{ __schema { types { name } } __typename }");
        assert!(s.introspection && s.introspection_only);
        let s = shape("{ __schema { types { name } } viewer { role } }");
        assert!(s.introspection && !s.introspection_only);
        assert!(!shape("{ __typename }").introspection);
    }
}

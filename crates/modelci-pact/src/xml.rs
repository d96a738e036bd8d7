//! XML body matching. Paths follow Pact's XML convention: `$.root.child` for elements (all
//! children of one name share a path), `['@attr']` for attributes and `#text` for text.

use roxmltree::{Document, Node};
use serde_json::Value;

use crate::body::{Options, clip, describe};
use crate::matchers::check_rules;
use crate::mismatch::{Mismatch, Part};
use crate::path::display;
use crate::rules::{Matcher, RuleList, Rules};

/// Compares two XML documents.
pub fn compare(expected: &str, actual: &str, rules: &Rules, opts: Options) -> Vec<Mismatch> {
    let e = match Document::parse(expected) {
        Ok(d) => d,
        Err(err) => {
            return vec![Mismatch::new(
                Part::Body,
                "$",
                clip(expected),
                clip(actual),
                format!("the expected body is not valid XML: {err}"),
            )];
        }
    };
    let a = match Document::parse(actual) {
        Ok(d) => d,
        Err(err) => {
            return vec![Mismatch::new(
                Part::Body,
                "$",
                clip(expected),
                clip(actual),
                format!("the body is not valid XML: {err}"),
            )];
        }
    };
    let mut out = Vec::new();
    let er = e.root_element();
    let ar = a.root_element();
    if name_of(er) != name_of(ar) {
        out.push(Mismatch::new(
            Part::Body,
            "$",
            format!("<{}>", name_of(er)),
            format!("<{}>", name_of(ar)),
            format!(
                "expected root element <{}> but received <{}>",
                name_of(er),
                name_of(ar)
            ),
        ));
        return out;
    }
    let root = XPath {
        names: vec!["$".to_owned(), er.tag_name().name().to_owned()],
        indexed: vec!["$".to_owned(), er.tag_name().name().to_owned()],
    };
    compare_element(&root, er, ar, rules, opts, &mut out);
    out
}

fn name_of(n: Node<'_, '_>) -> String {
    match n.tag_name().namespace() {
        Some(ns) => format!("{{{ns}}}{}", n.tag_name().name()),
        None => n.tag_name().name().to_owned(),
    }
}

fn element_children<'a, 'i>(n: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    n.children().filter(Node::is_element).collect()
}

fn text_of(n: Node<'_, '_>) -> String {
    n.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An element's position, in Pact's two XML path conventions: by names only
/// (`$.animals.alligator`) and with the child's index (`$.animals[1].alligator`, v4).
#[derive(Clone)]
struct XPath {
    names: Vec<String>,
    indexed: Vec<String>,
}

impl XPath {
    fn child(&self, index: usize, name: &str) -> XPath {
        let mut names = self.names.clone();
        names.push(name.to_owned());
        let mut indexed = self.indexed.clone();
        indexed.push(index.to_string());
        indexed.push(name.to_owned());
        XPath { names, indexed }
    }

    fn leaf(&self, name: &str) -> XPath {
        let mut p = self.clone();
        p.names.push(name.to_owned());
        p.indexed.push(name.to_owned());
        p
    }

    /// The best rule under either convention.
    fn rule<'r>(&self, rules: &'r Rules) -> Option<&'r RuleList> {
        let a = rules.best_weighted(&self.names);
        let b = rules.best_weighted(&self.indexed);
        match (a, b) {
            (Some(x), Some(y)) => Some(if (y.0, y.1) > (x.0, x.1) { y.2 } else { x.2 }),
            (x, y) => x.or(y).map(|t| t.2),
        }
    }

    /// Whether a rule is declared at this very element (not only inherited).
    fn exact<'r>(&self, rules: &'r Rules) -> Option<&'r RuleList> {
        rules
            .exact(&self.indexed)
            .or_else(|| rules.exact(&self.names))
    }

    fn shown(&self) -> String {
        display(&self.indexed)
    }
}

fn compare_element(
    path: &XPath,
    expected: Node<'_, '_>,
    actual: Node<'_, '_>,
    rules: &Rules,
    opts: Options,
    out: &mut Vec<Mismatch>,
) {
    // Attributes.
    for attr in expected.attributes() {
        let p = path.leaf(&format!("@{}", attr.name()));
        match actual
            .attributes()
            .find(|a| a.name() == attr.name() && a.namespace() == attr.namespace())
        {
            None => out.push(Mismatch::new(
                Part::Body,
                p.shown(),
                attr.value(),
                "(missing)",
                format!("expected attribute {} but it is missing", attr.name()),
            )),
            Some(a) => compare_values(&p, attr.value(), a.value(), rules, out),
        }
    }
    if !opts.allow_unexpected {
        for attr in actual.attributes() {
            if !expected
                .attributes()
                .any(|e| e.name() == attr.name() && e.namespace() == attr.namespace())
            {
                out.push(Mismatch::new(
                    Part::Body,
                    path.leaf(&format!("@{}", attr.name())).shown(),
                    "(absent)",
                    attr.value(),
                    format!("unexpected attribute {}", attr.name()),
                ));
            }
        }
    }

    let e_children = element_children(expected);
    let a_children = element_children(actual);
    let own = path.rule(rules);
    let array_like = own.is_some_and(|r| {
        r.matchers.iter().any(|m| {
            matches!(
                m,
                Matcher::Type { .. } | Matcher::Values | Matcher::EachValue(_)
            )
        })
    });
    if array_like && !e_children.is_empty() {
        // The children form an array: each is compared with the expected child at its index,
        // or with the first one.
        check_count(
            path,
            rules,
            e_children.len(),
            a_children.len(),
            "child element(s)",
            out,
        );
        for (i, a) in a_children.iter().enumerate() {
            let e = e_children.get(i).unwrap_or(&e_children[0]);
            let child = path.child(i, a.tag_name().name());
            if name_of(*e) != name_of(*a) {
                out.push(Mismatch::new(
                    Part::Body,
                    child.shown(),
                    format!("<{}>", name_of(*e)),
                    format!("<{}>", name_of(*a)),
                    format!(
                        "expected element <{}> but received <{}>",
                        name_of(*e),
                        name_of(*a)
                    ),
                ));
                continue;
            }
            compare_element(&child, *e, *a, rules, opts, out);
        }
    } else {
        compare_children_by_name(path, &e_children, &a_children, rules, opts, out);
    }

    // Text.
    let et = text_of(expected);
    let at = text_of(actual);
    if !et.is_empty() || !at.is_empty() {
        compare_values(&path.leaf("#text"), &et, &at, rules, out);
    }
}

/// Children grouped by name: each group is an array, flexible in length only under a type rule.
fn compare_children_by_name(
    path: &XPath,
    e_children: &[Node<'_, '_>],
    a_children: &[Node<'_, '_>],
    rules: &Rules,
    opts: Options,
    out: &mut Vec<Mismatch>,
) {
    let mut names: Vec<String> = Vec::new();
    for c in e_children {
        let n = name_of(*c);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    for name in &names {
        let es: Vec<(usize, &Node<'_, '_>)> = e_children
            .iter()
            .enumerate()
            .filter(|(_, c)| name_of(**c) == *name)
            .collect();
        let as_: Vec<(usize, &Node<'_, '_>)> = a_children
            .iter()
            .enumerate()
            .filter(|(_, c)| name_of(**c) == *name)
            .collect();
        let local = es[0].1.tag_name().name().to_owned();
        let group = path.leaf(&local);
        let rule = group.rule(rules);
        let type_like = rule.is_some_and(|r| {
            r.matchers.iter().any(|m| {
                matches!(
                    m,
                    Matcher::Type { .. } | Matcher::Values | Matcher::EachValue(_)
                )
            })
        });
        if type_like {
            check_count(
                &group,
                rules,
                es.len(),
                as_.len(),
                &format!("<{local}>"),
                out,
            );
            for (i, (pos, a)) in as_.iter().enumerate() {
                let e = es.get(i).unwrap_or(&es[0]).1;
                compare_element(&path.child(*pos, &local), *e, **a, rules, opts, out);
            }
            continue;
        }
        let too_many = as_.len() > es.len() && !opts.allow_unexpected;
        if as_.len() < es.len() || too_many {
            out.push(Mismatch::new(
                Part::Body,
                group.shown(),
                format!("{} <{local}>", es.len()),
                format!("{} <{local}>", as_.len()),
                format!(
                    "expected {} <{local}> element(s) but received {}{}",
                    es.len(),
                    as_.len(),
                    if too_many {
                        " (unexpected elements)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        for ((_, e), (pos, a)) in es.iter().zip(&as_) {
            compare_element(&path.child(*pos, &local), **e, **a, rules, opts, out);
        }
    }
    let mut reported_empty = false;
    for c in a_children {
        let n = name_of(*c);
        if names.contains(&n) {
            continue;
        }
        if !opts.allow_unexpected {
            out.push(Mismatch::new(
                Part::Body,
                path.leaf(c.tag_name().name()).shown(),
                "(absent)",
                format!("<{}>", c.tag_name().name()),
                format!("unexpected element <{}>", c.tag_name().name()),
            ));
        } else if e_children.is_empty() && !reported_empty && path.rule(rules).is_none() {
            // Even where extra elements are allowed, an element expected to be empty must be.
            reported_empty = true;
            out.push(Mismatch::new(
                Part::Body,
                path.shown(),
                "no child elements",
                format!("{} child element(s)", a_children.len()),
                "expected an element without children",
            ));
        }
    }
}

/// Applies the length rules (`min`, `max`) declared exactly at `path` to a number of elements.
fn check_count(
    path: &XPath,
    rules: &Rules,
    expected: usize,
    actual: usize,
    what: &str,
    out: &mut Vec<Mismatch>,
) {
    let Some(r) = path.exact(rules) else { return };
    let ev = Value::Array(vec![Value::Null; expected]);
    let av = Value::Array(vec![Value::Null; actual]);
    if let Err(why) = check_rules(r, &ev, &av) {
        out.push(
            Mismatch::new(
                Part::Body,
                path.shown(),
                format!("{expected} {what}"),
                format!("{actual} {what}"),
                why,
            )
            .with_rule(Some(describe(r))),
        );
    }
}

fn compare_values(
    path: &XPath,
    expected: &str,
    actual: &str,
    rules: &Rules,
    out: &mut Vec<Mismatch>,
) {
    match path.rule(rules) {
        Some(r) => {
            if let Err(why) = check_rules(
                r,
                &Value::String(expected.to_owned()),
                &Value::String(actual.to_owned()),
            ) {
                out.push(
                    Mismatch::new(Part::Body, path.shown(), expected, actual, why)
                        .with_rule(Some(describe(r))),
                );
            }
        }
        None => {
            if expected != actual {
                out.push(Mismatch::new(
                    Part::Body,
                    path.shown(),
                    expected,
                    actual,
                    format!("expected {expected:?} but received {actual:?}"),
                ));
            }
        }
    }
}

//! Left-hand side normalisation: expansion of a schema into a disjunction of
//! conjunctions ([`Conj`]), and the per-conjunction summary ([`Facts`]) the
//! subset checks compare against the right-hand side's keywords.

use crate::doc::{Loc, synth};
use crate::engine::Engine;
use crate::num::{Bound, N, Rat, max_lower, min_upper, range_empty};
use crate::validate::{Tri, as_count};
use serde_json::{Map, Value};

pub(crate) const NULL: u8 = 1;
pub(crate) const BOOL: u8 = 2;
pub(crate) const OBJ: u8 = 4;
pub(crate) const ARR: u8 = 8;
pub(crate) const STR: u8 = 16;
pub(crate) const INT: u8 = 32;
pub(crate) const FRAC: u8 = 64;
pub(crate) const NUM: u8 = INT | FRAC;
pub(crate) const ALL: u8 = 127;

/// Upper bound on disjuncts kept when expanding `anyOf`/`oneOf` on the left.
const MAX_DISJUNCTS: usize = 64;

/// Keywords that never constrain instances.
pub(crate) fn is_annotation(k: &str) -> bool {
    k.starts_with("x-")
        || matches!(
            k,
            "title"
                | "description"
                | "$comment"
                | "examples"
                | "example"
                | "default"
                | "deprecated"
                | "readOnly"
                | "writeOnly"
                | "$schema"
                | "$id"
                | "$anchor"
                | "$defs"
                | "definitions"
                | "externalDocs"
                | "xml"
                | "discriminator"
        )
}

pub(crate) fn type_bits(name: &str) -> u8 {
    match name {
        "null" => NULL,
        "boolean" => BOOL,
        "object" => OBJ,
        "array" => ARR,
        "string" => STR,
        "integer" => INT,
        "number" => NUM,
        _ => 0,
    }
}

pub(crate) fn type_name(bit: u8) -> &'static str {
    match bit {
        NULL => "null",
        BOOL => "boolean",
        OBJ => "object",
        ARR => "array",
        STR => "string",
        INT => "integer",
        FRAC => "non-integer number",
        _ => "unknown",
    }
}

pub(crate) fn synth_for(bit: u8) -> Loc<'static> {
    synth(match bit {
        NULL => "null",
        BOOL => "boolean",
        OBJ => "object",
        ARR => "array",
        STR => "string",
        INT => "integer",
        _ => "fraction",
    })
}

pub(crate) fn bits(types: u8) -> impl Iterator<Item = u8> {
    [NULL, BOOL, OBJ, ARR, STR, INT, FRAC]
        .into_iter()
        .filter(move |b| types & b != 0)
}

pub(crate) fn value_type(v: &Value) -> u8 {
    match v {
        Value::Null => NULL,
        Value::Bool(_) => BOOL,
        Value::Object(_) => OBJ,
        Value::Array(_) => ARR,
        Value::String(_) => STR,
        Value::Number(n) => {
            if N::from_number(n).is_integer() {
                INT
            } else {
                FRAC
            }
        }
    }
}

/// `minimum`/`maximum`/`exclusive*` (numeric 2019+ form and boolean draft-4 form).
pub(crate) fn numeric_bounds(m: &Map<String, Value>) -> (Option<Bound>, Option<Bound>) {
    let mut lo: Option<Bound> = None;
    let mut hi: Option<Bound> = None;
    let emin_bool = m.get("exclusiveMinimum") == Some(&Value::Bool(true));
    let emax_bool = m.get("exclusiveMaximum") == Some(&Value::Bool(true));
    if let Some(v) = m.get("minimum").and_then(N::from_value) {
        lo = Some(max_lower(lo, Bound { v, excl: emin_bool }));
    }
    if let Some(v) = m.get("exclusiveMinimum").and_then(N::from_value) {
        lo = Some(max_lower(lo, Bound { v, excl: true }));
    }
    if let Some(v) = m.get("maximum").and_then(N::from_value) {
        hi = Some(min_upper(hi, Bound { v, excl: emax_bool }));
    }
    if let Some(v) = m.get("exclusiveMaximum").and_then(N::from_value) {
        hi = Some(min_upper(hi, Bound { v, excl: true }));
    }
    (lo, hi)
}

/// Tuple prefix and rest schema of an array schema (draft 4-2019 `items` arrays
/// with `additionalItems`, or 2020-12 `prefixItems` with `items`).
pub(crate) fn array_layout<'a>(loc: &Loc<'a>) -> (Vec<Loc<'a>>, Option<Loc<'a>>) {
    let list = |l: Loc<'a>| -> Vec<Loc<'a>> {
        let n = l.v.as_array().map_or(0, Vec::len);
        (0..n).filter_map(|i| l.index(i)).collect()
    };
    match loc.child("items") {
        Some(items) if items.v.is_array() => (list(items), loc.child("additionalItems")),
        items => match loc.child("prefixItems") {
            Some(p) => (list(p), items),
            None => (Vec::new(), items),
        },
    }
}

/// One conjunction of the left-hand side's disjunctive normal form: every
/// leaf schema must hold (its own keywords; applicators were expanded) and
/// every `not` schema must fail.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conj<'a> {
    pub leaves: Vec<Loc<'a>>,
    pub nots: Vec<Loc<'a>>,
    /// Where this disjunct came from when it has no leaf of its own
    /// (the `null` disjunct of an OpenAPI `nullable` schema).
    pub origin: Option<Loc<'a>>,
}

fn and<'a>(x: Vec<Conj<'a>>, y: &[Conj<'a>]) -> Vec<Conj<'a>> {
    let mut out = Vec::with_capacity(x.len() * y.len());
    for a in &x {
        for b in y {
            let mut c = a.clone();
            c.leaves.extend(b.leaves.iter().cloned());
            c.nots.extend(b.nots.iter().cloned());
            if c.origin.is_none() {
                c.origin = b.origin.clone();
            }
            out.push(c);
        }
    }
    out
}

#[derive(Clone, Debug)]
pub(crate) struct ArrGroup<'a> {
    pub prefix: Vec<Loc<'a>>,
    pub rest: Option<Loc<'a>>,
}

#[derive(Clone, Debug)]
pub(crate) struct ObjGroup<'a> {
    pub props: Vec<(String, Loc<'a>)>,
    pub patterns: Vec<(String, Loc<'a>)>,
    pub additional: Option<Loc<'a>>,
}

#[derive(Clone, Debug)]
pub(crate) struct ContainsF<'a> {
    pub schema: Loc<'a>,
    pub min: u64,
    pub max: Option<u64>,
}

/// Summary of a conjunction's direct keywords.
#[derive(Clone, Debug)]
pub(crate) struct Facts<'a> {
    pub types: u8,
    pub enum_vals: Option<Vec<Value>>,
    pub has_const: bool,
    pub lo: Option<Bound>,
    pub hi: Option<Bound>,
    pub steps: Vec<N>,
    pub min_len: u64,
    pub max_len: Option<u64>,
    pub patterns: Vec<String>,
    pub formats: Vec<String>,
    pub min_items: u64,
    pub max_items: Option<u64>,
    pub unique: bool,
    pub arr: Vec<ArrGroup<'a>>,
    pub contains: Vec<ContainsF<'a>>,
    pub min_props: u64,
    pub max_props: Option<u64>,
    pub required: Vec<String>,
    pub obj: Vec<ObjGroup<'a>>,
    pub prop_names: Vec<Loc<'a>>,
    pub dep_req: Vec<(String, Vec<String>)>,
    pub dep_schemas: Vec<(String, Loc<'a>)>,
    pub finite_names: Option<Vec<String>>,
}

impl<'a> Facts<'a> {
    pub(crate) fn top(types: u8) -> Self {
        Facts {
            types,
            enum_vals: None,
            has_const: false,
            lo: None,
            hi: None,
            steps: Vec::new(),
            min_len: 0,
            max_len: None,
            patterns: Vec::new(),
            formats: Vec::new(),
            min_items: 0,
            max_items: None,
            unique: false,
            arr: Vec::new(),
            contains: Vec::new(),
            min_props: 0,
            max_props: None,
            required: Vec::new(),
            obj: Vec::new(),
            prop_names: Vec::new(),
            dep_req: Vec::new(),
            dep_schemas: Vec::new(),
            finite_names: None,
        }
    }

    fn merge(&mut self, o: Facts<'a>) {
        self.types &= o.types;
        if let Some(e) = o.enum_vals {
            let keep = match &self.enum_vals {
                Some(cur) => e.len() < cur.len(),
                None => true,
            };
            if keep {
                self.enum_vals = Some(e);
            }
        }
        self.has_const |= o.has_const;
        if let Some(l) = o.lo {
            self.lo = Some(max_lower(self.lo, l));
        }
        if let Some(h) = o.hi {
            self.hi = Some(min_upper(self.hi, h));
        }
        self.steps.extend(o.steps);
        self.min_len = self.min_len.max(o.min_len);
        self.max_len = opt_min(self.max_len, o.max_len);
        self.patterns.extend(o.patterns);
        self.formats.extend(o.formats);
        self.min_items = self.min_items.max(o.min_items);
        self.max_items = opt_min(self.max_items, o.max_items);
        self.unique |= o.unique;
        self.arr.extend(o.arr);
        self.contains.extend(o.contains);
        self.min_props = self.min_props.max(o.min_props);
        self.max_props = opt_min(self.max_props, o.max_props);
        for r in o.required {
            if !self.required.contains(&r) {
                self.required.push(r);
            }
        }
        self.obj.extend(o.obj);
        self.prop_names.extend(o.prop_names);
        self.dep_req.extend(o.dep_req);
        self.dep_schemas.extend(o.dep_schemas);
    }

    /// The left-hand item schemas at array position `i`.
    pub(crate) fn items_at(&self, i: usize) -> Vec<Loc<'a>> {
        self.arr
            .iter()
            .filter_map(|g| {
                if i < g.prefix.len() {
                    Some(g.prefix[i].clone())
                } else {
                    g.rest.clone()
                }
            })
            .collect()
    }

    pub(crate) fn max_prefix(&self) -> usize {
        self.arr.iter().map(|g| g.prefix.len()).max().unwrap_or(0)
    }
}

pub(crate) fn opt_min(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl<'a> ObjGroup<'a> {
    /// Schemas that apply to property `name`, given the match result of
    /// every pattern (`matches(p)`).
    pub(crate) fn schemas_for(&self, name: &str, matches: &dyn Fn(&str) -> bool) -> Vec<Loc<'a>> {
        let mut out = Vec::new();
        for (k, s) in &self.props {
            if k == name {
                out.push(s.clone());
            }
        }
        for (p, s) in &self.patterns {
            if matches(p) {
                out.push(s.clone());
            }
        }
        if out.is_empty()
            && let Some(a) = &self.additional
        {
            out.push(a.clone());
        }
        out
    }
}

impl<'a> Engine<'a> {
    /// The `$ref` target of a schema, if any.
    pub(crate) fn ref_target(&self, loc: &Loc<'a>) -> Option<Loc<'a>> {
        let r = loc.v.get("$ref")?.as_str()?;
        let doc = self.docs.get(loc.doc)?;
        let (ptr, v) = doc.resolve(r)?;
        Some(Loc {
            doc: loc.doc,
            ptr,
            v,
        })
    }

    /// Whether a schema is literally `false` (following `$ref`s).
    pub(crate) fn quick_false(&self, loc: &Loc<'a>) -> bool {
        let mut cur = loc.clone();
        for _ in 0..16 {
            match cur.v {
                Value::Bool(b) => return !b,
                Value::Object(m) => {
                    if m.get("not").is_some_and(|n| {
                        n == &Value::Bool(true) || n.as_object().is_some_and(Map::is_empty)
                    }) {
                        return true;
                    }
                    match self.ref_target(&cur) {
                        Some(t) if m.len() == 1 || self.docs[cur.doc].legacy_ref => cur = t,
                        _ => return false,
                    }
                }
                _ => return false,
            }
        }
        false
    }

    /// Expand a conjunction of schemas into disjunctive normal form.
    /// Unguarded `$ref` cycles are treated as `true` (an over-approximation,
    /// which is sound on the left-hand side of a subset check).
    pub(crate) fn expand(&self, list: &[Loc<'a>]) -> Vec<Conj<'a>> {
        let mut dnf = vec![Conj::default()];
        let mut stack = Vec::new();
        for l in list {
            let e = self.expand_one(l, &mut stack);
            dnf = and(dnf, &e);
        }
        dnf
    }

    fn expand_list(&self, loc: &Loc<'a>, key: &str) -> Vec<Loc<'a>> {
        match loc.child(key) {
            Some(l) => {
                let n = l.v.as_array().map_or(0, Vec::len);
                (0..n).filter_map(|i| l.index(i)).collect()
            }
            None => Vec::new(),
        }
    }

    fn expand_one(&self, loc: &Loc<'a>, stack: &mut Vec<(usize, String)>) -> Vec<Conj<'a>> {
        let m = match loc.v {
            Value::Bool(false) => return Vec::new(),
            Value::Object(m) => m,
            _ => return vec![Conj::default()],
        };
        // A bare `$ref` (plus annotations) adds nothing beyond its target:
        // leaving it out keeps comparison keys shared between referrers.
        let bare_ref = m.contains_key("$ref") && m.keys().all(|k| k == "$ref" || is_annotation(k));
        let mut dnf = vec![Conj {
            leaves: if bare_ref {
                Vec::new()
            } else {
                vec![loc.clone()]
            },
            nots: Vec::new(),
            origin: None,
        }];
        if let Some(t) = self.ref_target(loc) {
            let k = t.key();
            if !stack.contains(&k) {
                stack.push(k);
                let e = self.expand_one(&t, stack);
                stack.pop();
                dnf = and(dnf, &e);
            }
        }
        let legacy = self.docs[loc.doc].legacy_ref && m.contains_key("$ref");
        if !legacy {
            for s in self.expand_list(loc, "allOf") {
                let e = self.expand_one(&s, stack);
                dnf = and(dnf, &e);
            }
            if m.contains_key("anyOf") {
                let mut alts = Vec::new();
                for s in self.expand_list(loc, "anyOf") {
                    alts.extend(self.expand_one(&s, stack));
                }
                if dnf.len() * alts.len() <= MAX_DISJUNCTS {
                    dnf = and(dnf, &alts);
                }
            }
            if m.contains_key("oneOf") {
                let branches = self.expand_list(loc, "oneOf");
                let mut alts = Vec::new();
                for (i, s) in branches.iter().enumerate() {
                    let others: Vec<Loc<'a>> = branches
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, l)| l.clone())
                        .collect();
                    let e = self.expand_one(s, stack);
                    alts.extend(and(
                        e,
                        &[Conj {
                            leaves: Vec::new(),
                            nots: others,
                            origin: None,
                        }],
                    ));
                }
                if dnf.len() * alts.len() <= MAX_DISJUNCTS {
                    dnf = and(dnf, &alts);
                }
            }
            if let Some(n) = loc.child("not") {
                for c in &mut dnf {
                    c.nots.push(n.clone());
                }
            }
            if let Some(i) = loc.child("if")
                && (m.contains_key("then") || m.contains_key("else"))
            {
                let mut alts = self.expand_one(&i, stack);
                if let Some(t) = loc.child("then") {
                    let e = self.expand_one(&t, stack);
                    alts = and(alts, &e);
                }
                let mut neg = vec![Conj {
                    leaves: Vec::new(),
                    nots: vec![i.clone()],
                    origin: None,
                }];
                if let Some(e) = loc.child("else") {
                    let ee = self.expand_one(&e, stack);
                    neg = and(neg, &ee);
                }
                alts.extend(neg);
                if dnf.len() * alts.len() <= MAX_DISJUNCTS {
                    dnf = and(dnf, &alts);
                }
            }
        }
        if self.openapi() && m.get("nullable") == Some(&Value::Bool(true)) {
            dnf.push(Conj {
                leaves: vec![synth("null")],
                nots: Vec::new(),
                origin: Some(loc.clone()),
            });
        }
        dnf
    }

    /// Facts from one schema's direct (non-applicator) keywords.
    pub(crate) fn leaf_facts(&self, loc: &Loc<'a>) -> Facts<'a> {
        let mut f = Facts::top(ALL);
        let m = match loc.v {
            Value::Object(m) => m,
            Value::Bool(false) => {
                f.types = 0;
                return f;
            }
            _ => return f,
        };
        if self.docs[loc.doc].legacy_ref && m.contains_key("$ref") {
            return f;
        }
        match m.get("type") {
            Some(Value::String(s)) => f.types = type_bits(s),
            Some(Value::Array(a)) => {
                f.types = a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(type_bits)
                    .fold(0, |x, y| x | y)
            }
            _ => {}
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            f.enum_vals = Some(e.clone());
        }
        if let Some(c) = m.get("const") {
            f.enum_vals = Some(vec![c.clone()]);
            f.has_const = true;
        }
        let (lo, hi) = numeric_bounds(m);
        f.lo = lo;
        f.hi = hi;
        if let Some(s) = m.get("multipleOf").and_then(N::from_value) {
            f.steps.push(s);
        }
        if let Some(x) = m.get("minLength").and_then(as_count) {
            f.min_len = x;
        }
        f.max_len = m.get("maxLength").and_then(as_count);
        if let Some(Value::String(p)) = m.get("pattern") {
            f.patterns.push(p.clone());
        }
        if let Some(Value::String(p)) = m.get("format") {
            f.formats.push(p.clone());
        }
        if let Some(x) = m.get("minItems").and_then(as_count) {
            f.min_items = x;
        }
        f.max_items = m.get("maxItems").and_then(as_count);
        f.unique = m.get("uniqueItems") == Some(&Value::Bool(true));
        if m.contains_key("items") || m.contains_key("prefixItems") {
            let (prefix, rest) = array_layout(loc);
            f.arr.push(ArrGroup { prefix, rest });
        }
        if let Some(c) = loc.child("contains") {
            f.contains.push(ContainsF {
                schema: c,
                min: m.get("minContains").and_then(as_count).unwrap_or(1),
                max: m.get("maxContains").and_then(as_count),
            });
        }
        if let Some(x) = m.get("minProperties").and_then(as_count) {
            f.min_props = x;
        }
        f.max_props = m.get("maxProperties").and_then(as_count);
        if let Some(Value::Array(r)) = m.get("required") {
            for s in r.iter().filter_map(Value::as_str) {
                if !f.required.iter().any(|x| x == s) {
                    f.required.push(s.to_string());
                }
            }
        }
        if m.contains_key("properties")
            || m.contains_key("patternProperties")
            || m.contains_key("additionalProperties")
        {
            let mut g = ObjGroup {
                props: Vec::new(),
                patterns: Vec::new(),
                additional: loc.child("additionalProperties"),
            };
            if let Some(p) = loc.child("properties")
                && let Value::Object(pm) = p.v
            {
                for k in pm.keys() {
                    if let Some(c) = p.child(k) {
                        g.props.push((k.clone(), c));
                    }
                }
            }
            if let Some(p) = loc.child("patternProperties")
                && let Value::Object(pm) = p.v
            {
                for k in pm.keys() {
                    if let Some(c) = p.child(k) {
                        g.patterns.push((k.clone(), c));
                    }
                }
            }
            f.obj.push(g);
        }
        if let Some(p) = loc.child("propertyNames") {
            f.prop_names.push(p);
        }
        for key in ["dependentRequired", "dependencies"] {
            if let Some(Value::Object(d)) = m.get(key) {
                for (k, v) in d {
                    if let Value::Array(a) = v {
                        f.dep_req.push((
                            k.clone(),
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect(),
                        ));
                    }
                }
            }
        }
        for key in ["dependentSchemas", "dependencies"] {
            if let Some(d) = loc.child(key)
                && let Value::Object(dm) = d.v
            {
                for (k, v) in dm {
                    if !v.is_array()
                        && let Some(c) = d.child(k)
                    {
                        f.dep_schemas.push((k.clone(), c));
                    }
                }
            }
        }
        f
    }

    /// Facts of a conjunction restricted to `mask`, with empty type parts pruned.
    pub(crate) fn conj_facts(&mut self, c: &Conj<'a>, mask: u8) -> Facts<'a> {
        let mut f = Facts::top(mask);
        for l in &c.leaves {
            let lf = self.leaf_facts(l);
            f.merge(lf);
        }
        for n in &c.nots {
            for t in bits(f.types).collect::<Vec<_>>() {
                if self.trial_ok(&synth_for(t), n) {
                    f.types &= !t;
                }
            }
        }
        self.prune(&mut f);
        f
    }

    pub(crate) fn step_rat(&self, f: &Facts<'a>) -> Option<Rat> {
        let mut step: Option<Rat> = None;
        for s in &f.steps {
            let r = Rat::from_n(*s)?;
            if r.n <= 0 {
                return None;
            }
            step = Some(match step {
                None => r,
                Some(cur) => cur.lcm(r)?,
            });
        }
        if f.types & FRAC == 0 {
            let one = Rat { n: 1, d: 1 };
            step = Some(match step {
                None => one,
                Some(cur) => cur.lcm(one)?,
            });
        }
        step
    }

    fn prune(&mut self, f: &mut Facts<'a>) {
        // numbers
        if f.types & NUM != 0 {
            if range_empty(f.lo, f.hi) {
                f.types &= !NUM;
            }
            if let Some(s) = self.step_rat(f)
                && s.is_integer()
            {
                f.types &= !FRAC;
            }
            if let (Some(l), Some(h)) = (f.lo, f.hi)
                && l.v.eq(h.v)
                && !l.excl
                && !h.excl
            {
                if l.v.is_integer() {
                    f.types &= !FRAC;
                } else {
                    f.types &= !INT;
                }
            }
            if f.types & NUM == INT {
                f.lo = f.lo.map(int_lower);
                f.hi = f.hi.map(int_upper);
                if range_empty(f.lo, f.hi) {
                    f.types &= !INT;
                }
            }
        }
        if f.types & STR != 0 && f.max_len.is_some_and(|m| m < f.min_len) {
            f.types &= !STR;
        }
        if f.types & ARR != 0 {
            for g in &f.arr {
                if let Some(r) = &g.rest
                    && self.quick_false(r)
                {
                    f.max_items = opt_min(f.max_items, Some(g.prefix.len() as u64));
                }
                for (i, p) in g.prefix.iter().enumerate() {
                    if self.quick_false(p) {
                        f.max_items = opt_min(f.max_items, Some(i as u64));
                        break;
                    }
                }
            }
            for c in &f.contains {
                f.min_items = f.min_items.max(c.min);
            }
            if f.max_items.is_some_and(|m| m < f.min_items) {
                f.types &= !ARR;
            }
        }
        if f.types & OBJ != 0 {
            self.object_names(f);
            let req = f.required.clone();
            if req.iter().any(|r| !self.prop_possible(f, r)) {
                f.types &= !OBJ;
            }
            f.min_props = f.min_props.max(req.len() as u64);
            if let Some(n) = &f.finite_names {
                f.max_props = opt_min(f.max_props, Some(n.len() as u64));
            }
            if f.max_props.is_some_and(|m| m < f.min_props) {
                f.types &= !OBJ;
            }
        }
        if let Some(e) = &f.enum_vals {
            let t = f.types;
            f.enum_vals = Some(
                e.iter()
                    .filter(|v| value_type(v) & t != 0)
                    .cloned()
                    .collect(),
            );
        }
    }

    fn object_names(&mut self, f: &mut Facts<'a>) {
        let mut finite: Option<Vec<String>> = None;
        let mut restrict = |names: Vec<String>| {
            finite = Some(match finite.take() {
                None => names,
                Some(cur) => cur.into_iter().filter(|n| names.contains(n)).collect(),
            });
        };
        for pn in &f.prop_names {
            let mut cur = pn.clone();
            for _ in 0..8 {
                match self.ref_target(&cur) {
                    Some(t) => cur = t,
                    None => break,
                }
            }
            let vals = match cur.v.get("const") {
                Some(c) => Some(vec![c.clone()]),
                None => cur.v.get("enum").and_then(Value::as_array).cloned(),
            };
            if let Some(vals) = vals {
                restrict(
                    vals.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                );
            }
        }
        for g in &f.obj {
            let closed =
                g.patterns.is_empty() && g.additional.as_ref().is_some_and(|a| self.quick_false(a));
            if closed {
                restrict(g.props.iter().map(|(k, _)| k.clone()).collect());
            }
        }
        f.finite_names = None;
        if let Some(names) = finite {
            let mut keep = Vec::new();
            for n in names {
                if self.prop_possible(f, &n) && !keep.contains(&n) {
                    keep.push(n);
                }
            }
            f.finite_names = Some(keep);
        }
    }

    /// Whether an object allowed by `f` may have property `name`.
    pub(crate) fn prop_possible(&self, f: &Facts<'a>, name: &str) -> bool {
        if f.max_props == Some(0) {
            return false;
        }
        if let Some(n) = &f.finite_names
            && !n.iter().any(|x| x == name)
        {
            return false;
        }
        for g in &f.obj {
            let mut any_yes = false;
            let mut any_maybe = false;
            for (k, s) in &g.props {
                if k == name {
                    if self.quick_false(s) {
                        return false;
                    }
                    any_yes = true;
                }
            }
            for (p, s) in &g.patterns {
                match self.pattern_match(p, name) {
                    Tri::Yes => {
                        if self.quick_false(s) {
                            return false;
                        }
                        any_yes = true;
                    }
                    Tri::Maybe => any_maybe = true,
                    Tri::No => {}
                }
            }
            if !any_yes && !any_maybe && g.additional.as_ref().is_some_and(|a| self.quick_false(a))
            {
                return false;
            }
        }
        let nv = Value::String(name.to_string());
        for pn in &f.prop_names {
            if self.validate(pn, &nv) == Tri::No {
                return false;
            }
        }
        true
    }

    /// The values of a conjunction when it is provably finite.
    pub(crate) fn finite_values(&self, f: &Facts<'a>) -> Option<Vec<Value>> {
        if let Some(e) = &f.enum_vals {
            return Some(e.clone());
        }
        if f.types & !(NULL | BOOL | INT) != 0 {
            return None;
        }
        let mut out = Vec::new();
        if f.types & NULL != 0 {
            out.push(Value::Null);
        }
        if f.types & BOOL != 0 {
            out.push(Value::Bool(false));
            out.push(Value::Bool(true));
        }
        if f.types & INT != 0 {
            let lo = f.lo?.v.as_int()?;
            let hi = f.hi?.v.as_int()?;
            let step = self
                .step_rat(f)
                .filter(|s| s.is_integer())
                .map_or(1, |s| s.n)
                .max(1);
            if (hi - lo) / step > 64 {
                return None;
            }
            let mut k = lo.div_euclid(step) * step;
            if k < lo {
                k += step;
            }
            while k <= hi {
                out.push(N::I(k).to_value());
                k += step;
            }
        }
        Some(out)
    }
}

fn int_lower(b: Bound) -> Bound {
    let v = match b.v {
        N::I(i) => N::I(if b.excl { i + 1 } else { i }),
        N::F(f) if f.abs() < 1e30 => {
            let c = f.ceil();
            let c = if b.excl && c == f { c + 1.0 } else { c };
            N::I(c as i128)
        }
        other => {
            return Bound {
                v: other,
                excl: b.excl,
            };
        }
    };
    Bound { v, excl: false }
}

fn int_upper(b: Bound) -> Bound {
    let v = match b.v {
        N::I(i) => N::I(if b.excl { i - 1 } else { i }),
        N::F(f) if f.abs() < 1e30 => {
            let c = f.floor();
            let c = if b.excl && c == f { c - 1.0 } else { c };
            N::I(c as i128)
        }
        other => {
            return Bound {
                v: other,
                excl: b.excl,
            };
        }
    };
    Bound { v, excl: false }
}

//! The subset engine: `a ⊆ b` checks over a left-hand disjunctive normal form
//! and a right-hand schema processed keyword by keyword.

use crate::Options;
use crate::doc::{DocInfo, Loc, synth};
use crate::facts::{
    ALL, ARR, BOOL, Conj, FRAC, Facts, INT, NULL, NUM, OBJ, ObjGroup, STR, bits, type_name,
    value_type,
};
use crate::num::{lower_implies, upper_implies};
use crate::regexp::{self, Literal};
use crate::validate::Tri;
use regex::Regex;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

/// Hard cap on conjunction-level comparisons per check.
const MAX_STEPS: usize = 20_000;
/// Most failures kept per comparison.
const MAX_FAILS: usize = 16;
/// Hard cap on nested comparisons (protects the stack).
const MAX_DEPTH: usize = 2_000;

/// What the right-hand side (`b`) restricts more than the left (`a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Aspect {
    Type,
    Null,
    Enum,
    Const,
    Required,
    PropertyForbidden,
    AdditionalClosed,
    PatternProps,
    PropertyNames,
    MinProps,
    MaxProps,
    DepRequired,
    DepSchemas,
    Minimum,
    Maximum,
    MultipleOf,
    MinLength,
    MaxLength,
    Pattern,
    Format,
    MinItems,
    MaxItems,
    Unique,
    ItemsClosed,
    Contains,
    OneOf,
    AnyOf,
    Not,
    IfThenElse,
    SchemaFalse,
    Unsupported,
}

/// An internal finding, phrased with `{a}`/`{b}` placeholders.
#[derive(Clone, Debug)]
pub(crate) struct Fail {
    pub aspect: Aspect,
    pub a_ptr: String,
    pub b_ptr: String,
    pub path: String,
    pub msg: String,
    pub witness: Option<Value>,
}

type LocKey = (usize, String);
type Key = (Vec<LocKey>, Vec<LocKey>, u8, LocKey);

pub(crate) struct Engine<'a> {
    pub docs: Vec<DocInfo<'a>>,
    pub opts: Options,
    regexes: RefCell<HashMap<String, Option<Regex>>>,
    ids: HashMap<Key, usize>,
    in_progress: HashSet<usize>,
    cur_deps: Vec<usize>,
    provisional: HashMap<usize, Vec<usize>>,
    depth: usize,
    pos_cache: HashSet<usize>,
    neg_cache: HashMap<usize, (Vec<Fail>, bool)>,
    pub(crate) gen_work: usize,
    steps: usize,
    pub(crate) trial: u32,
    pub(crate) gen_depth: u32,
    same_docs: bool,
}

fn a_ptr(c: &Conj<'_>) -> String {
    let real: Vec<&Loc<'_>> = c
        .leaves
        .iter()
        .filter(|l| l.doc != crate::doc::SYNTH_DOC)
        .collect();
    real.iter()
        .find(|l| l.v.get("$ref").is_none())
        .or_else(|| real.first())
        .copied()
        .or(c.origin.as_ref())
        .map_or_else(|| "#".to_string(), Loc::display)
}

/// Keep one failure per schema-level cause (the first, usually shallowest,
/// occurrence) and at most `MAX_FAILS` of them: the same cause reached
/// through many paths of a recursive or heavily shared schema would
/// otherwise multiply.
fn dedup_fails(fails: Vec<Fail>) -> Vec<Fail> {
    let mut out: Vec<Fail> = Vec::new();
    for x in fails {
        let dup = out.iter().any(|y| {
            y.a_ptr == x.a_ptr && y.b_ptr == x.b_ptr && y.aspect == x.aspect && y.msg == x.msg
        });
        if !dup {
            out.push(x);
            if out.len() >= MAX_FAILS {
                break;
            }
        }
    }
    out
}

fn kw_ptr(b: &Loc<'_>, kw: &str) -> String {
    format!("{}/{}", b.display(), crate::doc::escape(kw))
}

fn show(v: &Value) -> String {
    modelci_text::truncate(&v.to_string(), 80)
}

fn contains_ref(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k == "$ref" || k == "$dynamicRef" || contains_ref(v)),
        Value::Array(a) => a.iter().any(contains_ref),
        _ => false,
    }
}

fn bound_str(b: Option<crate::num::Bound>, lower: bool) -> String {
    match b {
        None => {
            if lower {
                "-inf".into()
            } else {
                "+inf".into()
            }
        }
        Some(b) => {
            let v = show(&b.v.to_value());
            if b.excl {
                if lower {
                    format!("(exclusive) {v}")
                } else {
                    format!("{v} (exclusive)")
                }
            } else {
                v
            }
        }
    }
}

impl<'a> Engine<'a> {
    pub(crate) fn new(docs: Vec<DocInfo<'a>>, opts: Options) -> Self {
        let same_docs = docs.len() >= 2
            && docs[0].root == docs[1].root
            && docs[0].legacy_ref == docs[1].legacy_ref;
        Engine {
            docs,
            opts,
            regexes: RefCell::new(HashMap::new()),
            ids: HashMap::new(),
            in_progress: HashSet::new(),
            cur_deps: Vec::new(),
            provisional: HashMap::new(),
            depth: 0,
            pos_cache: HashSet::new(),
            neg_cache: HashMap::new(),
            steps: 0,
            trial: 0,
            gen_depth: 0,
            gen_work: 0,
            same_docs,
        }
    }

    pub(crate) fn openapi(&self) -> bool {
        self.opts.dialect == crate::Dialect::OpenApi30
    }

    pub(crate) fn regex(&self, p: &str) -> Option<Regex> {
        if let Some(r) = self.regexes.borrow().get(p) {
            return r.clone();
        }
        let r = regexp::compile(p);
        self.regexes.borrow_mut().insert(p.to_string(), r.clone());
        r
    }

    fn fail(
        &self,
        aspect: Aspect,
        c: &Conj<'a>,
        b_ptr: String,
        msg: String,
        witness: Option<Value>,
    ) -> Fail {
        Fail {
            aspect,
            a_ptr: a_ptr(c),
            b_ptr,
            path: String::new(),
            msg,
            witness,
        }
    }

    /// Does every value of the conjunction of `a` satisfy `b`? Returns the failures.
    pub(crate) fn sub(&mut self, a: &[Loc<'a>], b: &Loc<'a>) -> Vec<Fail> {
        let dnf = self.expand(a);
        let mut out: Vec<Fail> = Vec::new();
        for c in dnf {
            let f = self.conj_sub(&c, ALL, b);
            out.extend(f);
            if out.len() > MAX_FAILS {
                break;
            }
        }
        dedup_fails(out)
    }

    /// Like [`Engine::sub`] but only the verdict, without witness search.
    pub(crate) fn trial_ok(&mut self, a: &Loc<'a>, b: &Loc<'a>) -> bool {
        self.trial += 1;
        let r = self.sub(std::slice::from_ref(a), b).is_empty();
        self.trial -= 1;
        r
    }

    fn trial_conj(&mut self, c: &Conj<'a>, mask: u8, b: &Loc<'a>) -> bool {
        self.trial += 1;
        let r = self.conj_sub(c, mask, b).is_empty();
        self.trial -= 1;
        r
    }

    fn same_schema(&self, a: &Loc<'a>, b: &Loc<'a>) -> bool {
        if a.doc == crate::doc::SYNTH_DOC || b.doc == crate::doc::SYNTH_DOC {
            return a.doc == b.doc && a.ptr == b.ptr;
        }
        if self.same_docs && a.ptr == b.ptr {
            return true;
        }
        a.v == b.v
            && !contains_ref(a.v)
            && self.docs[a.doc].legacy_ref == self.docs[b.doc].legacy_ref
    }

    pub(crate) fn conj_sub(&mut self, c: &Conj<'a>, mask: u8, b: &Loc<'a>) -> Vec<Fail> {
        if b.v == &Value::Bool(true) {
            return Vec::new();
        }
        if c.nots.is_empty() && c.leaves.iter().any(|l| self.same_schema(l, b)) {
            return Vec::new();
        }
        let mut lk: Vec<LocKey> = c.leaves.iter().map(Loc::key).collect();
        lk.sort();
        lk.dedup();
        let mut nk: Vec<LocKey> = c.nots.iter().map(Loc::key).collect();
        nk.sort();
        nk.dedup();
        let key: Key = (lk, nk, mask, b.key());
        let next = self.ids.len();
        let id = *self.ids.entry(key).or_insert(next);
        if self.in_progress.contains(&id) {
            // coinductive assumption
            self.cur_deps.push(id);
            return Vec::new();
        }
        if self.pos_cache.contains(&id) {
            return Vec::new();
        }
        if let Some((f, full)) = self.neg_cache.get(&id)
            && (self.trial > 0 || *full)
        {
            return f.clone();
        }
        if let Some(deps) = self.resolve_provisional(id, 0) {
            if deps.is_empty() {
                self.pos_cache.insert(id);
            }
            self.cur_deps.extend(deps);
            return Vec::new();
        }
        self.steps += 1;
        if self.steps > MAX_STEPS || self.depth > MAX_DEPTH {
            return vec![self.fail(
                Aspect::Unsupported,
                c,
                b.display(),
                "the comparison is too large to finish; {a} is not proven to fit {b}".into(),
                None,
            )];
        }
        let saved = std::mem::take(&mut self.cur_deps);
        self.depth += 1;
        self.in_progress.insert(id);
        let r = dedup_fails(self.conj_sub_inner(c, mask, b));
        self.in_progress.remove(&id);
        self.depth -= 1;
        let mut deps = std::mem::replace(&mut self.cur_deps, saved);
        deps.retain(|d| *d != id);
        deps.sort_unstable();
        deps.dedup();
        if r.is_empty() {
            if deps.is_empty() {
                self.pos_cache.insert(id);
            } else {
                self.cur_deps.extend(deps.iter().copied());
                self.provisional.insert(id, deps);
            }
        } else {
            self.provisional.remove(&id);
            let full = self.trial == 0;
            self.neg_cache.insert(id, (r.clone(), full));
        }
        r
    }

    /// A success that relied on coinductive assumptions stays usable while
    /// every assumption is still open or was itself established; returns the
    /// assumptions still open, or `None` when one of them failed.
    fn resolve_provisional(&mut self, id: usize, depth: u32) -> Option<Vec<usize>> {
        if depth > 32 {
            return None;
        }
        let deps = self.provisional.get(&id)?.clone();
        let mut out = Vec::new();
        for d in deps {
            if self.in_progress.contains(&d) {
                out.push(d);
            } else if self.pos_cache.contains(&d) {
            } else if self.provisional.contains_key(&d) {
                out.extend(self.resolve_provisional(d, depth + 1)?);
            } else {
                self.provisional.remove(&id);
                return None;
            }
        }
        out.sort_unstable();
        out.dedup();
        if out.is_empty() {
            self.provisional.remove(&id);
            self.pos_cache.insert(id);
        }
        Some(out)
    }

    fn conj_sub_inner(&mut self, c: &Conj<'a>, mask: u8, b: &Loc<'a>) -> Vec<Fail> {
        let mut f = self.conj_facts(c, mask);
        if f.types == 0 {
            return Vec::new();
        }
        if let Some(vals) = self.finite_values(&f) {
            return self.finite_check(c, &f, mask, vals, b);
        }
        let m = match b.v {
            Value::Bool(false) => {
                let w = self.witness(c, mask, b);
                return vec![self.fail(
                    Aspect::SchemaFalse,
                    c,
                    b.display(),
                    "{b} is `false` and rejects every value, but {a} accepts some".into(),
                    w,
                )];
            }
            Value::Object(m) => m,
            _ => return Vec::new(),
        };
        let mut mask = mask;
        if self.openapi() && m.get("nullable") == Some(&Value::Bool(true)) {
            mask &= !NULL;
            f.types &= !NULL;
            if f.types == 0 {
                return Vec::new();
            }
        }
        let mut out = Vec::new();
        if let Some(t) = self.ref_target(b) {
            out.extend(self.conj_sub(c, mask, &t));
        }
        if self.docs[b.doc].legacy_ref && m.contains_key("$ref") {
            return out;
        }
        if let Some(l) = b.child("allOf") {
            let n = l.v.as_array().map_or(0, Vec::len);
            for i in 0..n {
                if let Some(s) = l.index(i) {
                    out.extend(self.conj_sub(c, mask, &s));
                }
            }
        }
        if let Some(l) = b.child("anyOf") {
            out.extend(self.check_any(c, mask, &f, b, &l));
        }
        if let Some(l) = b.child("oneOf") {
            out.extend(self.check_one(c, mask, &f, b, &l));
        }
        if let Some(n) = b.child("not")
            && !self.disjoint(c, mask, &n)
        {
            let w = self.witness(c, mask, b);
            out.push(self.fail(
                    Aspect::Not,
                    c,
                    n.display(),
                    "{a} accepts values matching the `not` schema of {b} (or they could not be proven disjoint)".into(),
                    w,
                ));
        }
        if b.child("if").is_some() {
            out.extend(self.check_if(c, mask, b));
        }
        for kw in ["$dynamicRef", "$recursiveRef"] {
            if m.contains_key(kw) {
                out.push(self.fail(
                    Aspect::Unsupported,
                    c,
                    kw_ptr(b, kw),
                    format!("`{kw}` in {{b}} is not supported; {{a}} is not proven to satisfy it"),
                    None,
                ));
            }
        }
        for kw in ["unevaluatedProperties", "unevaluatedItems"] {
            if m.get(kw).is_some_and(|u| u != &Value::Bool(true)) {
                let relevant = if kw == "unevaluatedItems" { ARR } else { OBJ };
                if f.types & relevant != 0 {
                    out.push(self.fail(
                        Aspect::Unsupported,
                        c,
                        kw_ptr(b, kw),
                        format!(
                            "`{kw}` in {{b}} is not supported; {{a}} is not proven to satisfy it"
                        ),
                        None,
                    ));
                }
            }
        }
        let fb = self.leaf_facts(b);
        self.check_direct(c, mask, &f, &fb, b, &mut out);
        out
    }

    fn finite_check(
        &mut self,
        c: &Conj<'a>,
        f: &Facts<'a>,
        mask: u8,
        vals: Vec<Value>,
        b: &Loc<'a>,
    ) -> Vec<Fail> {
        let mut out: Vec<Fail> = Vec::new();
        let fb = self.leaf_facts(b);
        let by_type = f.enum_vals.is_none();
        let mut reported_types = 0u8;
        for v in vals {
            if by_type && reported_types & value_type(&v) != 0 {
                continue;
            }
            if value_type(&v) & mask == 0 {
                continue;
            }
            let va = self.validate_all(&c.leaves, &c.nots, &v);
            if va == Tri::No {
                continue;
            }
            let vb = self.validate(b, &v);
            if vb == Tri::Yes {
                continue;
            }
            let (aspect, kw) = if by_type {
                reported_types |= value_type(&v);
                (
                    if v.is_null() {
                        Aspect::Null
                    } else {
                        Aspect::Type
                    },
                    "",
                )
            } else if b.v.get("const").is_some() {
                (Aspect::Const, "const")
            } else if b.v.get("enum").is_some() {
                (Aspect::Enum, "enum")
            } else if fb.types & value_type(&v) == 0 {
                (
                    if v.is_null() {
                        Aspect::Null
                    } else {
                        Aspect::Type
                    },
                    "type",
                )
            } else {
                (Aspect::Enum, "")
            };
            let b_ptr = if kw.is_empty() {
                b.display()
            } else {
                kw_ptr(b, kw)
            };
            let msg = match (va, vb) {
                (Tri::Yes, Tri::No) if by_type => format!(
                    "{{a}} accepts {} values (e.g. {}), which {{b}} rejects",
                    type_name(value_type(&v)),
                    show(&v)
                ),
                (Tri::Yes, Tri::No) => {
                    format!("{{a}} accepts the value {}, which {{b}} rejects", show(&v))
                }
                (_, Tri::No) => format!(
                    "{{a}} may accept the value {} (its pattern or recursion could not be evaluated), which {{b}} rejects",
                    show(&v)
                ),
                _ => format!(
                    "{{a}} accepts the value {}, which {{b}} may reject (it could not be evaluated)",
                    show(&v)
                ),
            };
            let w = (va == Tri::Yes && vb == Tri::No).then_some(v);
            out.push(self.fail(aspect, c, b_ptr, msg, w));
        }
        out
    }

    fn check_any(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        b: &Loc<'a>,
        l: &Loc<'a>,
    ) -> Vec<Fail> {
        let n = l.v.as_array().map_or(0, Vec::len);
        let branches: Vec<Loc<'a>> = (0..n).filter_map(|i| l.index(i)).collect();
        for br in &branches {
            if self.trial_conj(c, mask, br) {
                return Vec::new();
            }
        }
        let types: Vec<u8> = bits(f.types).collect();
        if types.len() > 1 {
            let mut all = true;
            for t in &types {
                if !branches.iter().any(|br| self.trial_conj(c, mask & t, br)) {
                    all = false;
                    break;
                }
            }
            if all {
                return Vec::new();
            }
        }
        let w = self.witness(c, mask, b);
        vec![self.fail(
            Aspect::AnyOf,
            c,
            l.display(),
            "no `anyOf` branch of {b} accepts everything {a} accepts".into(),
            w,
        )]
    }

    fn check_one(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        b: &Loc<'a>,
        l: &Loc<'a>,
    ) -> Vec<Fail> {
        let n = l.v.as_array().map_or(0, Vec::len);
        let branches: Vec<Loc<'a>> = (0..n).filter_map(|i| l.index(i)).collect();
        let part_ok = |s: &mut Self, pm: u8| -> bool {
            for (i, br) in branches.iter().enumerate() {
                if s.trial_conj(c, pm, br) {
                    let excl = branches
                        .iter()
                        .enumerate()
                        .all(|(j, o)| j == i || s.disjoint(c, pm, o));
                    if excl {
                        return true;
                    }
                }
            }
            false
        };
        if part_ok(self, mask) {
            return Vec::new();
        }
        let types: Vec<u8> = bits(f.types).collect();
        if types.len() > 1 && types.iter().all(|t| part_ok(self, mask & t)) {
            return Vec::new();
        }
        let w = self.witness(c, mask, b);
        vec![self.fail(
            Aspect::OneOf,
            c,
            l.display(),
            "{a} accepts values that do not match exactly one `oneOf` branch of {b} (or this could not be proven)"
                .into(),
            w,
        )]
    }

    fn check_if(&mut self, c: &Conj<'a>, mask: u8, b: &Loc<'a>) -> Vec<Fail> {
        let (Some(i), then, els) = (b.child("if"), b.child("then"), b.child("else")) else {
            return Vec::new();
        };
        if then.is_none() && els.is_none() {
            return Vec::new();
        }
        let (t, e) = (then, els);
        if self.trial_conj(c, mask, &i) {
            return match t {
                Some(t) => self.conj_sub(c, mask, &t),
                None => Vec::new(),
            };
        }
        if self.disjoint(c, mask, &i) {
            return match e {
                Some(e) => self.conj_sub(c, mask, &e),
                None => Vec::new(),
            };
        }
        let ok_t = t.as_ref().is_none_or(|t| self.trial_conj(c, mask, t));
        let ok_e = e.as_ref().is_none_or(|e| self.trial_conj(c, mask, e));
        if ok_t && ok_e {
            return Vec::new();
        }
        let w = self.witness(c, mask, b);
        vec![self.fail(
            Aspect::IfThenElse,
            c,
            i.display(),
            "{a} is not proven to satisfy the `if`/`then`/`else` of {b}".into(),
            w,
        )]
    }

    /// Provably no value of the conjunction (restricted to `mask`) is valid under `n`.
    pub(crate) fn disjoint(&mut self, c: &Conj<'a>, mask: u8, n: &Loc<'a>) -> bool {
        let fa = self.conj_facts(c, mask);
        if fa.types == 0 {
            return true;
        }
        if let Some(vals) = self.finite_values(&fa) {
            return vals.iter().all(|v| {
                value_type(v) & mask == 0
                    || self.validate_all(&c.leaves, &c.nots, v) == Tri::No
                    || self.validate(n, v) == Tri::No
            });
        }
        let dnf = self.expand(std::slice::from_ref(n));
        for d in dnf {
            let fd = self.conj_facts(&d, ALL);
            if !self.disjoint_facts(c, &fa, &d, &fd) {
                return false;
            }
        }
        true
    }

    fn disjoint_facts(
        &mut self,
        c: &Conj<'a>,
        fa: &Facts<'a>,
        d: &Conj<'a>,
        fd: &Facts<'a>,
    ) -> bool {
        let common = fa.types & fd.types;
        if common == 0 {
            return true;
        }
        if let Some(vals) = self.finite_values(fd) {
            return vals.iter().all(|v| {
                self.validate_all(&c.leaves, &c.nots, v) == Tri::No
                    || self.validate_all(&d.leaves, &d.nots, v) == Tri::No
            });
        }
        for t in bits(common) {
            let ok = match t {
                INT | FRAC => {
                    let lo = match (fa.lo, fd.lo) {
                        (Some(x), Some(y)) => Some(crate::num::max_lower(Some(x), y)),
                        (x, None) => x,
                        (None, y) => y,
                    };
                    let hi = match (fa.hi, fd.hi) {
                        (Some(x), Some(y)) => Some(crate::num::min_upper(Some(x), y)),
                        (x, None) => x,
                        (None, y) => y,
                    };
                    crate::num::range_empty(lo, hi)
                }
                STR => {
                    let mx = crate::facts::opt_min(fa.max_len, fd.max_len);
                    mx.is_some_and(|m| m < fa.min_len.max(fd.min_len))
                }
                ARR => {
                    let mx = crate::facts::opt_min(fa.max_items, fd.max_items);
                    mx.is_some_and(|m| m < fa.min_items.max(fd.min_items))
                }
                OBJ => {
                    let mx = crate::facts::opt_min(fa.max_props, fd.max_props);
                    mx.is_some_and(|m| m < fa.min_props.max(fd.min_props))
                        || fa.required.iter().any(|r| !self.prop_possible(fd, r))
                        || fd.required.iter().any(|r| !self.prop_possible(fa, r))
                }
                _ => false,
            };
            if !ok {
                return false;
            }
        }
        true
    }

    fn check_direct(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        fb: &Facts<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
    ) {
        // type
        let extra = f.types & !fb.types;
        if extra & NULL != 0 {
            let w = self.witness(c, mask & NULL, b);
            out.push(self.fail(
                Aspect::Null,
                c,
                kw_ptr(b, "type"),
                "{a} accepts null, which {b} rejects".into(),
                w,
            ));
        }
        let others = extra & !NULL;
        if others != 0 {
            let w = self.witness(c, mask & others, b);
            let names: Vec<&str> = bits(others)
                .filter(|t| !(*t == INT && others & FRAC != 0))
                .map(|t| {
                    if t == FRAC && others & INT != 0 {
                        "number"
                    } else {
                        type_name(t)
                    }
                })
                .collect();
            out.push(self.fail(
                Aspect::Type,
                c,
                kw_ptr(b, "type"),
                format!(
                    "{{a}} accepts {} values, which {{b}} rejects",
                    names.join(", ")
                ),
                w,
            ));
        }
        let f_types = f.types & fb.types;
        if f_types == 0 {
            return;
        }
        if let Some(e) = &fb.enum_vals {
            let kw = if fb.has_const { "const" } else { "enum" };
            let w = self.witness(c, mask, b);
            let listed: Vec<String> = e.iter().take(5).map(show).collect();
            out.push(self.fail(
                if fb.has_const { Aspect::Const } else { Aspect::Enum },
                c,
                kw_ptr(b, kw),
                format!(
                    "{{b}} only accepts the enumerated values [{}{}], but {{a}} is not limited to them",
                    listed.join(", "),
                    if e.len() > 5 { ", ..." } else { "" }
                ),
                w,
            ));
        }
        if f_types & NUM != 0 {
            self.check_numbers(c, mask, f, fb, b, out);
        }
        if f_types & STR != 0 {
            self.check_strings(c, mask, f, fb, b, out);
        }
        if f_types & ARR != 0 {
            self.check_arrays(c, mask, f, fb, b, out);
        }
        if f_types & OBJ != 0 {
            self.check_objects(c, mask, f, fb, b, out);
        }
        let _ = BOOL;
    }

    fn check_numbers(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        fb: &Facts<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
    ) {
        let nm = mask & NUM;
        if let Some(bl) = fb.lo
            && !lower_implies(f.lo, bl)
        {
            let w = self.witness(c, nm, b);
            let kw = if bl.excl && b.v.get("exclusiveMinimum").is_some_and(Value::is_number) {
                "exclusiveMinimum"
            } else {
                "minimum"
            };
            out.push(self.fail(
                Aspect::Minimum,
                c,
                kw_ptr(b, kw),
                format!(
                    "{{a}} accepts numbers down to {}, below the lower bound {} of {{b}}",
                    bound_str(f.lo, true),
                    bound_str(Some(bl), true)
                ),
                w,
            ));
        }
        if let Some(bh) = fb.hi
            && !upper_implies(f.hi, bh)
        {
            let w = self.witness(c, nm, b);
            let kw = if bh.excl && b.v.get("exclusiveMaximum").is_some_and(Value::is_number) {
                "exclusiveMaximum"
            } else {
                "maximum"
            };
            out.push(self.fail(
                Aspect::Maximum,
                c,
                kw_ptr(b, kw),
                format!(
                    "{{a}} accepts numbers up to {}, above the upper bound {} of {{b}}",
                    bound_str(f.hi, false),
                    bound_str(Some(bh), false)
                ),
                w,
            ));
        }
        for s in &fb.steps {
            let ok = match (self.step_rat(f), crate::num::Rat::from_n(*s)) {
                (Some(a), Some(bs)) => a.divisible_by(bs).unwrap_or(false),
                _ => false,
            };
            if !ok {
                let w = self.witness(c, nm, b);
                out.push(self.fail(
                    Aspect::MultipleOf,
                    c,
                    kw_ptr(b, "multipleOf"),
                    format!(
                        "{{b}} requires multiples of {}, which the numbers {{a}} accepts are not guaranteed to be",
                        show(&s.to_value())
                    ),
                    w,
                ));
            }
        }
    }

    fn check_strings(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        fb: &Facts<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
    ) {
        let sm = mask & STR;
        if fb.min_len > f.min_len {
            let w = self.witness(c, sm, b);
            out.push(self.fail(
                Aspect::MinLength,
                c,
                kw_ptr(b, "minLength"),
                format!(
                    "{{a}} accepts strings of length {}, but {{b}} requires at least {}",
                    f.min_len, fb.min_len
                ),
                w,
            ));
        }
        if let Some(bm) = fb.max_len
            && f.max_len.is_none_or(|m| m > bm)
        {
            let w = self.witness(c, sm, b);
            out.push(self.fail(
                    Aspect::MaxLength,
                    c,
                    kw_ptr(b, "maxLength"),
                    format!(
                        "{{a}} accepts strings longer than {bm} characters (up to {}), the maximum of {{b}}",
                        f.max_len.map_or("unbounded".to_string(), |m| m.to_string())
                    ),
                    w,
                ));
        }
        for p in &fb.patterns {
            if f.patterns.contains(p) {
                continue;
            }
            if f.max_len == Some(0) && self.pattern_match(p, "") == Tri::Yes {
                continue;
            }
            let w = self.witness(c, sm, b);
            let why = if self.regex(p).is_none() {
                " (the pattern is not supported by this checker)"
            } else {
                ""
            };
            let msg = if w.is_some() {
                format!("{{a}} accepts strings that do not match the pattern {p:?} of {{b}}{why}")
            } else {
                format!(
                    "{{a}} is not proven to accept only strings matching the pattern {p:?} of {{b}}{why}"
                )
            };
            out.push(self.fail(Aspect::Pattern, c, kw_ptr(b, "pattern"), msg, w));
        }
        if self.opts.assert_formats {
            for fm in &fb.formats {
                if !f.formats.contains(fm) {
                    let w = self.witness(c, sm, b);
                    out.push(self.fail(
                        Aspect::Format,
                        c,
                        kw_ptr(b, "format"),
                        format!("{{b}} asserts format {fm:?}, which {{a}} does not guarantee"),
                        w,
                    ));
                }
            }
        }
    }

    fn check_arrays(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        fb: &Facts<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
    ) {
        let am = mask & ARR;
        if fb.min_items > f.min_items {
            let w = self.witness(c, am, b);
            out.push(self.fail(
                Aspect::MinItems,
                c,
                kw_ptr(b, "minItems"),
                format!(
                    "{{a}} accepts arrays with {} item(s), but {{b}} requires at least {}",
                    f.min_items, fb.min_items
                ),
                w,
            ));
        }
        if let Some(bm) = fb.max_items
            && f.max_items.is_none_or(|m| m > bm)
        {
            let w = self.witness(c, am, b);
            out.push(self.fail(
                Aspect::MaxItems,
                c,
                kw_ptr(b, "maxItems"),
                format!("{{a}} accepts arrays with more than {bm} item(s), the maximum of {{b}}"),
                w,
            ));
        }
        if fb.unique && !f.unique && f.max_items.is_none_or(|m| m > 1) {
            let w = self.witness(c, am, b);
            out.push(self.fail(
                Aspect::Unique,
                c,
                kw_ptr(b, "uniqueItems"),
                "{a} accepts arrays with duplicate items, but {b} requires unique items".into(),
                w,
            ));
        }
        if let Some(bg) = fb.arr.first() {
            let p = f.max_prefix().max(bg.prefix.len());
            let limit = f.max_items.map_or(u64::MAX, |m| m);
            for i in 0..=p {
                if i as u64 >= limit {
                    break;
                }
                let bi = if i < bg.prefix.len() {
                    Some(bg.prefix[i].clone())
                } else {
                    bg.rest.clone()
                };
                let Some(bi) = bi else { continue };
                let ai = f.items_at(i);
                if self.quick_false(&bi) {
                    let w = self
                        .gen_valid(&ai)
                        .and_then(|v| self.lift_item(c, mask, f, b, i, v));
                    let msg = if i < bg.prefix.len() {
                        format!(
                            "{{a}} accepts arrays with an item at index {i}, which {{b}} forbids"
                        )
                    } else {
                        format!(
                            "{{a}} accepts arrays with more than {i} item(s), but {{b}} forbids further items"
                        )
                    };
                    out.push(self.fail(Aspect::ItemsClosed, c, bi.display(), msg, w));
                    continue;
                }
                let nested = self.sub(&ai, &bi);
                let seg = if i < p {
                    i.to_string()
                } else {
                    format!("{i}+")
                };
                for x in nested {
                    let w = match x.witness.clone() {
                        Some(v) => self.lift_item(c, mask, f, b, i, v),
                        None => None,
                    };
                    out.push(Fail {
                        path: format!("/{seg}{}", x.path),
                        witness: w,
                        ..x
                    });
                }
            }
        }
        for bc in &fb.contains {
            // minimum number of matches
            let mut min_ok = bc.min == 0;
            if !min_ok {
                for ac in &f.contains {
                    if ac.min >= bc.min && self.trial_ok(&ac.schema, &bc.schema) {
                        min_ok = true;
                        break;
                    }
                }
            }
            if !min_ok {
                let mut count = 0u64;
                let upto = f.min_items.min(64) as usize;
                for i in 0..upto {
                    let ai = f.items_at(i);
                    self.trial += 1;
                    let ok = self.sub(&ai, &bc.schema).is_empty();
                    self.trial -= 1;
                    if ok {
                        count += 1;
                    }
                }
                min_ok = count >= bc.min;
            }
            if !min_ok {
                let w = self.witness(c, am, b);
                out.push(self.fail(
                    Aspect::Contains,
                    c,
                    bc.schema.display(),
                    format!(
                        "{{a}} does not guarantee at least {} item(s) matching the `contains` schema of {{b}}",
                        bc.min
                    ),
                    w,
                ));
            }
            if let Some(bmax) = bc.max {
                let mut max_ok = f.max_items.is_some_and(|m| m <= bmax);
                if !max_ok {
                    for ac in &f.contains {
                        if ac.max.is_some_and(|m| m <= bmax)
                            && self.trial_ok(&bc.schema, &ac.schema)
                        {
                            max_ok = true;
                            break;
                        }
                    }
                }
                if !max_ok {
                    let w = self.witness(c, am, b);
                    out.push(self.fail(
                        Aspect::Contains,
                        c,
                        kw_ptr(b, "maxContains"),
                        format!(
                            "{{a}} accepts arrays with more than {bmax} item(s) matching the `contains` schema of {{b}}"
                        ),
                        w,
                    ));
                }
            }
        }
    }

    fn check_objects(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        fb: &Facts<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
    ) {
        let om = mask & OBJ;
        for r in &fb.required {
            if !f.required.contains(r) {
                let w = self.witness(c, om, b);
                out.push(self.fail(
                    Aspect::Required,
                    c,
                    kw_ptr(b, "required"),
                    format!("{{b}} requires property '{r}', which {{a}} does not guarantee"),
                    w,
                ));
            }
        }
        if fb.min_props > f.min_props {
            let w = self.witness(c, om, b);
            out.push(self.fail(
                Aspect::MinProps,
                c,
                kw_ptr(b, "minProperties"),
                format!(
                    "{{a}} accepts objects with {} properties, but {{b}} requires at least {}",
                    f.min_props, fb.min_props
                ),
                w,
            ));
        }
        if let Some(bm) = fb.max_props
            && f.max_props.is_none_or(|m| m > bm)
        {
            let w = self.witness(c, om, b);
            out.push(self.fail(
                Aspect::MaxProps,
                c,
                kw_ptr(b, "maxProperties"),
                format!(
                    "{{a}} accepts objects with more than {bm} properties, the maximum of {{b}}"
                ),
                w,
            ));
        }
        for (k, deps) in &fb.dep_req {
            if !self.prop_possible(f, k) {
                continue;
            }
            for d in deps {
                let ok = f.required.contains(d)
                    || f.dep_req.iter().any(|(ak, ad)| ak == k && ad.contains(d));
                if !ok {
                    let w = self.witness(c, om, b);
                    let bp = format!(
                        "{}/{}",
                        kw_ptr(b, "dependentRequired"),
                        crate::doc::escape(k)
                    );
                    out.push(self.fail(
                        Aspect::DepRequired,
                        c,
                        bp,
                        format!("{{a}} accepts objects with property '{k}' but without '{d}', which {{b}} requires alongside it"),
                        w,
                    ));
                }
            }
        }
        for (k, d) in &fb.dep_schemas {
            if !self.prop_possible(f, k) {
                continue;
            }
            let mut list = c.leaves.clone();
            list.push(synth("object"));
            for (ak, ad) in &f.dep_schemas {
                if ak == k {
                    list.push(ad.clone());
                }
            }
            self.trial += 1;
            let ok = self.sub(&list, d).is_empty();
            self.trial -= 1;
            if !ok {
                let w = self.witness(c, om, b);
                out.push(self.fail(
                    Aspect::DepSchemas,
                    c,
                    d.display(),
                    format!("{{a}} is not proven to satisfy the dependent schema that {{b}} applies when '{k}' is present"),
                    w,
                ));
            }
        }
        for pn in &fb.prop_names {
            if let Some(names) = f.finite_names.clone() {
                for n in names {
                    let nv = Value::String(n.clone());
                    if self.validate(pn, &nv) != Tri::Yes {
                        let w = self
                            .gen_valid(&self.a_prop_schemas(f, &n))
                            .and_then(|v| self.lift_prop(c, mask, f, b, &n, v));
                        out.push(self.fail(
                            Aspect::PropertyNames,
                            c,
                            pn.display(),
                            format!("{{a}} accepts property name '{n}', which the `propertyNames` of {{b}} rejects"),
                            w,
                        ));
                    }
                }
            } else {
                let mut list = f.prop_names.clone();
                list.push(synth("string"));
                let nested = self.sub(&list, pn);
                for x in nested {
                    let w = match &x.witness {
                        Some(Value::String(n)) => {
                            let n = n.clone();
                            self.gen_valid(&self.a_prop_schemas(f, &n))
                                .and_then(|v| self.lift_prop(c, mask, f, b, &n, v))
                        }
                        _ => None,
                    };
                    out.push(Fail {
                        aspect: Aspect::PropertyNames,
                        msg: format!("property names: {}", x.msg),
                        witness: w,
                        ..x
                    });
                }
            }
        }
        if let Some(bg) = fb.obj.first().cloned() {
            self.check_props(c, mask, f, &bg, b, out);
        }
    }

    /// The left-hand schemas for a concrete property name (unknown pattern
    /// matches count as matching).
    pub(crate) fn a_prop_schemas(&self, f: &Facts<'a>, name: &str) -> Vec<Loc<'a>> {
        let m = |p: &str| self.pattern_match(p, name) != Tri::No;
        let mut out = Vec::new();
        for g in &f.obj {
            out.extend(g.schemas_for(name, &m));
        }
        out
    }

    fn check_props(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        bg: &ObjGroup<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
    ) {
        let mut pats: Vec<String> = Vec::new();
        for g in f.obj.iter().chain(std::iter::once(bg)) {
            for (p, _) in &g.patterns {
                if !pats.contains(p) {
                    pats.push(p.clone());
                }
            }
        }
        let mut explicit: Vec<String> = Vec::new();
        let mut add = |n: &String| {
            if !explicit.contains(n) {
                explicit.push(n.clone());
            }
        };
        match &f.finite_names {
            Some(names) => names.iter().for_each(&mut add),
            None => {
                for g in f.obj.iter().chain(std::iter::once(bg)) {
                    g.props.iter().for_each(|(k, _)| add(k));
                }
                f.required.iter().for_each(&mut add);
                f.dep_req.iter().for_each(|(k, _)| add(k));
            }
        }
        for name in explicit.clone() {
            if !self.prop_possible(f, &name) {
                continue;
            }
            let unknown: Vec<String> = pats
                .iter()
                .filter(|p| self.pattern_match(p, &name) == Tri::Maybe)
                .cloned()
                .collect();
            if unknown.len() > 4 {
                out.push(self.fail(
                    Aspect::Unsupported,
                    c,
                    kw_ptr(b, "patternProperties"),
                    format!(
                        "too many unsupported patterns to decide which apply to property '{name}'"
                    ),
                    None,
                ));
                continue;
            }
            for assign in 0u32..(1 << unknown.len()) {
                let matches = |p: &str| match unknown.iter().position(|u| u == p) {
                    Some(i) => assign & (1 << i) != 0,
                    None => self.pattern_match(p, &name) == Tri::Yes,
                };
                let mut a_list = Vec::new();
                for g in &f.obj {
                    a_list.extend(g.schemas_for(&name, &matches));
                }
                if a_list.iter().any(|s| self.quick_false(s)) {
                    continue;
                }
                let from_additional = !bg.props.iter().any(|(k, _)| k == &name)
                    && !bg.patterns.iter().any(|(p, _)| matches(p));
                let b_list = bg.schemas_for(&name, &matches);
                let uncertain = !unknown.is_empty();
                self.compare_prop(
                    c,
                    mask,
                    f,
                    b,
                    out,
                    &name,
                    &a_list,
                    &b_list,
                    from_additional,
                    uncertain,
                );
            }
        }
        if f.finite_names.is_some() {
            return;
        }
        if pats.len() > 8 {
            out.push(self.fail(
                Aspect::Unsupported,
                c,
                kw_ptr(b, "patternProperties"),
                "too many pattern properties to compare".into(),
                None,
            ));
            return;
        }
        for set in 0u32..(1 << pats.len()) {
            let in_s = |p: &str| {
                pats.iter()
                    .position(|q| q == p)
                    .is_some_and(|i| set & (1 << i) != 0)
            };
            let (real, sample) = self.realizable(set, &pats, &explicit, f);
            if real == Tri::No {
                continue;
            }
            let mut a_list = Vec::new();
            for g in &f.obj {
                a_list.extend(g.schemas_for("\u{0}\u{0}not-a-declared-name", &in_s));
            }
            if a_list.iter().any(|s| self.quick_false(s)) {
                continue;
            }
            let b_list = bg.schemas_for("\u{0}\u{0}not-a-declared-name", &in_s);
            let from_additional = set == 0 || !bg.patterns.iter().any(|(p, _)| in_s(p));
            let label = match &sample {
                Some(s) => s.clone(),
                None => "*".to_string(),
            };
            let before = out.len();
            self.compare_prop(
                c,
                mask,
                f,
                b,
                out,
                &label,
                &a_list,
                &b_list,
                from_additional,
                real == Tri::Maybe,
            );
            if sample.is_none() {
                for x in &mut out[before..] {
                    x.witness = None;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn compare_prop(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        b: &Loc<'a>,
        out: &mut Vec<Fail>,
        name: &str,
        a_list: &[Loc<'a>],
        b_list: &[Loc<'a>],
        from_additional: bool,
        uncertain: bool,
    ) {
        let maybe = if uncertain {
            " (an unsupported or undecidable pattern may apply)"
        } else {
            ""
        };
        for bs in b_list {
            if self.quick_false(bs) {
                let w = self
                    .gen_valid(a_list)
                    .and_then(|v| self.lift_prop(c, mask, f, b, name, v));
                let (aspect, msg) = if from_additional {
                    (
                        Aspect::AdditionalClosed,
                        format!(
                            "{{a}} accepts property '{name}', which {{b}} does not allow (additional properties are closed){maybe}"
                        ),
                    )
                } else if bs.ptr.contains("/patternProperties/") {
                    (
                        Aspect::PatternProps,
                        format!(
                            "{{a}} accepts property '{name}', which a pattern property of {{b}} forbids{maybe}"
                        ),
                    )
                } else {
                    (
                        Aspect::PropertyForbidden,
                        format!("{{a}} accepts property '{name}', which {{b}} forbids{maybe}"),
                    )
                };
                let mut x = self.fail(aspect, c, bs.display(), msg, w);
                x.path = format!("/{}", crate::doc::escape(name));
                out.push(x);
                continue;
            }
            let nested = self.sub(a_list, bs);
            for x in nested {
                let w = match x.witness.clone() {
                    Some(v) => self.lift_prop(c, mask, f, b, name, v),
                    None => None,
                };
                let mut x = Fail {
                    path: format!("/{}{}", crate::doc::escape(name), x.path),
                    witness: w,
                    ..x
                };
                if uncertain && !x.msg.ends_with(maybe) {
                    x.msg.push_str(maybe);
                }
                if a_list.is_empty() && x.a_ptr == "#" {
                    x.a_ptr = a_ptr(c);
                }
                out.push(x);
            }
        }
    }

    /// Can a property name outside `explicit` match exactly the patterns in
    /// `set` (bitmask over `pats`)? Returns a sample name when one was found.
    fn realizable(
        &self,
        set: u32,
        pats: &[String],
        explicit: &[String],
        f: &Facts<'a>,
    ) -> (Tri, Option<String>) {
        let in_s: Vec<bool> = (0..pats.len()).map(|i| set & (1 << i) != 0).collect();
        let mut cands: Vec<String> = Vec::new();
        let mut firsts: Vec<String> = Vec::new();
        for (i, p) in pats.iter().enumerate() {
            let s = regexp::samples(p);
            if in_s[i]
                && let Some(x) = s.first()
            {
                firsts.push(x.clone());
            }
            for x in s {
                cands.push(format!("a{x}"));
                cands.push(format!("{x}a"));
                cands.push(format!("_{x}_"));
                cands.push(x);
            }
        }
        if firsts.len() > 1 {
            cands.push(firsts.concat());
            let mut r = firsts.clone();
            r.reverse();
            cands.push(r.concat());
        }
        for x in ["extra", "x", "a", "foo", "_", "0", "extra_property", "zz9"] {
            cands.push(x.to_string());
        }
        let mut maybe_name: Option<String> = None;
        for n in &cands {
            if explicit.contains(n) {
                continue;
            }
            let nv = Value::String(n.clone());
            if f.prop_names
                .iter()
                .any(|pn| self.validate(pn, &nv) == Tri::No)
            {
                continue;
            }
            let mut exact = true;
            let mut consistent = true;
            for (i, p) in pats.iter().enumerate() {
                match self.pattern_match(p, n) {
                    Tri::Yes => consistent &= in_s[i],
                    Tri::No => consistent &= !in_s[i],
                    Tri::Maybe => exact = false,
                }
            }
            if consistent && exact {
                return (Tri::Yes, Some(n.clone()));
            }
            if consistent && maybe_name.is_none() {
                maybe_name = Some(n.clone());
            }
        }
        if maybe_name.is_some() {
            return (Tri::Maybe, maybe_name);
        }
        // try to prove that no such name exists
        for (i, p) in pats.iter().enumerate() {
            if !in_s[i] && self.pattern_match(p, "") == Tri::Yes {
                return (Tri::No, None);
            }
        }
        let lits: Vec<Literal> = pats
            .iter()
            .enumerate()
            .filter(|(i, _)| in_s[*i])
            .filter_map(|(_, p)| regexp::literal(p))
            .collect();
        if lits.iter().any(|l| matches!(l, Literal::Exact(_))) {
            // the only candidate name was tried above
            return (Tri::No, None);
        }
        let prefixes: Vec<&String> = lits
            .iter()
            .filter_map(|l| {
                if let Literal::Prefix(s) = l {
                    Some(s)
                } else {
                    None
                }
            })
            .collect();
        let suffixes: Vec<&String> = lits
            .iter()
            .filter_map(|l| {
                if let Literal::Suffix(s) = l {
                    Some(s)
                } else {
                    None
                }
            })
            .collect();
        for x in &prefixes {
            for y in &prefixes {
                if !x.starts_with(y.as_str()) && !y.starts_with(x.as_str()) {
                    return (Tri::No, None);
                }
            }
        }
        for x in &suffixes {
            for y in &suffixes {
                if !x.ends_with(y.as_str()) && !y.ends_with(x.as_str()) {
                    return (Tri::No, None);
                }
            }
        }
        (Tri::Maybe, None)
    }
}

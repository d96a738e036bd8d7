//! Witness generation: propose candidate values from a conjunction's facts
//! (using the right-hand side's bounds as hints) and keep the first one the
//! validator confirms is accepted by `a` and rejected by `b`.

use crate::doc::Loc;
use crate::engine::Engine;
use crate::facts::{ARR, BOOL, Conj, FRAC, Facts, INT, NULL, OBJ, STR, bits};
use crate::num::N;
use crate::regexp;
use crate::validate::Tri;
use serde_json::{Map, Value, json};

const MAX_GEN_DEPTH: u32 = 4;
const MAX_CANDIDATES: usize = 80;
/// Candidate-generation calls allowed per top-level witness search.
const MAX_GEN_WORK: usize = 400;

fn push(out: &mut Vec<Value>, v: Value) {
    if out.len() < MAX_CANDIDATES * 2 && !out.contains(&v) {
        out.push(v);
    }
}

fn int_points(f: &Facts<'_>, hint: Option<&Facts<'_>>) -> Vec<i128> {
    let mut pts: Vec<i128> = vec![0, 1, -1, 2, 10, 100];
    let add_bound = |b: Option<crate::num::Bound>, pts: &mut Vec<i128>| {
        if let Some(b) = b {
            let x = b.v.as_f64();
            if x.abs() < 1e18 {
                let base = x.floor() as i128;
                for d in -2..=2 {
                    pts.push(base + d);
                }
            }
        }
    };
    add_bound(f.lo, &mut pts);
    add_bound(f.hi, &mut pts);
    if let Some(h) = hint {
        add_bound(h.lo, &mut pts);
        add_bound(h.hi, &mut pts);
    }
    pts
}

impl<'a> Engine<'a> {
    /// A value accepted by the conjunction (restricted to `mask`) and
    /// rejected by `b`, when one can be found and verified.
    pub(crate) fn witness(&mut self, c: &Conj<'a>, mask: u8, b: &Loc<'a>) -> Option<Value> {
        if self.trial > 0 || self.gen_depth > MAX_GEN_DEPTH {
            return None;
        }
        if self.gen_depth == 0 {
            self.gen_work = 0;
        }
        self.gen_depth += 1;
        let f = self.conj_facts(c, mask);
        let hint = self.leaf_facts(b);
        let cands = self.candidates(&f, Some(&hint));
        let mut found = None;
        for v in cands.into_iter().take(MAX_CANDIDATES) {
            if self.validate_all(&c.leaves, &c.nots, &v) == Tri::Yes
                && self.validate(b, &v) == Tri::No
            {
                found = Some(v);
                break;
            }
        }
        self.gen_depth -= 1;
        found
    }

    /// Some value valid under every schema of `list`.
    pub(crate) fn gen_valid(&mut self, list: &[Loc<'a>]) -> Option<Value> {
        if self.gen_depth > MAX_GEN_DEPTH || self.gen_work > MAX_GEN_WORK {
            return None;
        }
        if self.gen_depth == 0 {
            self.gen_work = 0;
        }
        self.gen_depth += 1;
        let dnf = self.expand(list);
        let mut found = None;
        'outer: for c in dnf.iter().take(4) {
            let f = self.conj_facts(c, crate::facts::ALL);
            for v in self.candidates(&f, None).into_iter().take(MAX_CANDIDATES) {
                if self.validate_all(list, &[], &v) == Tri::Yes {
                    found = Some(v);
                    break 'outer;
                }
            }
        }
        self.gen_depth -= 1;
        found
    }

    fn verify(&self, c: &Conj<'a>, b: &Loc<'a>, v: Value) -> Option<Value> {
        (self.validate_all(&c.leaves, &c.nots, &v) == Tri::Yes && self.validate(b, &v) == Tri::No)
            .then_some(v)
    }

    /// Required properties of `f` filled with generated values.
    fn object_base(&mut self, f: &Facts<'a>, skip: Option<&str>) -> Option<Map<String, Value>> {
        let mut m = Map::new();
        for r in f.required.clone() {
            if Some(r.as_str()) == skip {
                continue;
            }
            let schemas = self.a_prop_schemas(f, &r);
            let v = self.gen_valid(&schemas)?;
            m.insert(r, v);
        }
        Some(m)
    }

    /// Embed a property-level witness into an object of `a`.
    pub(crate) fn lift_prop(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        b: &Loc<'a>,
        name: &str,
        w: Value,
    ) -> Option<Value> {
        if self.trial > 0 || mask & OBJ == 0 {
            return None;
        }
        let mut m = self.object_base(f, Some(name))?;
        m.insert(name.to_string(), w);
        self.verify(c, b, Value::Object(m))
    }

    /// Embed an item-level witness into an array of `a`.
    pub(crate) fn lift_item(
        &mut self,
        c: &Conj<'a>,
        mask: u8,
        f: &Facts<'a>,
        b: &Loc<'a>,
        i: usize,
        w: Value,
    ) -> Option<Value> {
        if self.trial > 0 || mask & ARR == 0 {
            return None;
        }
        let len = (i + 1).max(f.min_items.min(32) as usize);
        let mut arr = Vec::with_capacity(len);
        for j in 0..len {
            if j == i {
                arr.push(w.clone());
            } else {
                let s = f.items_at(j);
                arr.push(self.gen_valid(&s)?);
            }
        }
        if let Some(v) = self.verify(c, b, Value::Array(arr.clone())) {
            return Some(v);
        }
        // satisfy `contains` of a by appending matching items
        let mut extra = Vec::new();
        for cn in &f.contains {
            let mut list = f.items_at(arr.len());
            list.push(cn.schema.clone());
            let item = self.gen_valid(&list)?;
            for _ in 0..cn.min.clamp(1, 8) {
                extra.push(item.clone());
            }
        }
        if extra.is_empty() {
            return None;
        }
        arr.extend(extra);
        self.verify(c, b, Value::Array(arr))
    }

    /// Candidate values for a conjunction, biased towards the boundaries of
    /// `f` and of the hint (the right-hand side's facts).
    pub(crate) fn candidates(&mut self, f: &Facts<'a>, hint: Option<&Facts<'a>>) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(e) = &f.enum_vals {
            return e.clone();
        }
        self.gen_work += 1;
        if self.gen_work > MAX_GEN_WORK {
            return out;
        }
        for t in bits(f.types) {
            match t {
                NULL => push(&mut out, Value::Null),
                BOOL => {
                    push(&mut out, json!(true));
                    push(&mut out, json!(false));
                }
                INT => {
                    let step = self
                        .step_rat(f)
                        .filter(|s| s.is_integer())
                        .map_or(1, |s| s.n.max(1));
                    for p in int_points(f, hint) {
                        let d = p.div_euclid(step);
                        for q in [
                            Some(p),
                            d.checked_mul(step),
                            d.checked_add(1).and_then(|x| x.checked_mul(step)),
                        ]
                        .into_iter()
                        .flatten()
                        {
                            push(&mut out, N::I(q).to_value());
                        }
                    }
                }
                FRAC => {
                    let mut pts = vec![0.5, 1.5, -0.5, 0.25, 2.5];
                    for b in [f.lo, f.hi]
                        .into_iter()
                        .chain(hint.into_iter().flat_map(|h| [h.lo, h.hi]))
                        .flatten()
                    {
                        let x = b.v.as_f64();
                        pts.extend([x - 0.5, x + 0.5, x - 0.25, x + 0.25, x]);
                    }
                    if let (Some(l), Some(h)) = (f.lo, f.hi) {
                        pts.push((l.v.as_f64() + h.v.as_f64()) / 2.0);
                    }
                    for p in pts {
                        if p.fract() != 0.0
                            && let Some(n) = serde_json::Number::from_f64(p)
                        {
                            push(&mut out, Value::Number(n));
                        }
                    }
                }
                STR => self.string_candidates(f, hint, &mut out),
                ARR => self.array_candidates(f, hint, &mut out),
                OBJ => self.object_candidates(f, hint, &mut out),
                _ => {}
            }
        }
        out
    }

    fn string_candidates(&self, f: &Facts<'a>, hint: Option<&Facts<'a>>, out: &mut Vec<Value>) {
        let mut lens: Vec<u64> = vec![f.min_len, f.min_len.saturating_add(1), 0, 1, 3];
        if let Some(m) = f.max_len {
            lens.push(m);
        }
        if let Some(h) = hint {
            lens.push(h.min_len.saturating_sub(1));
            if let Some(m) = h.max_len {
                lens.push(m.saturating_add(1));
            }
        }
        let mut base: Vec<String> = Vec::new();
        for p in &f.patterns {
            for s in regexp::samples(p) {
                base.push(s);
            }
        }
        if let Some(h) = hint {
            for p in &h.patterns {
                for s in regexp::samples(p) {
                    base.push(s.clone());
                    base.push(format!("{s}!"));
                    base.push(format!("!{s}"));
                }
            }
        }
        let formats = [
            "2024-01-01",
            "2024-01-01T00:00:00Z",
            "user@example.com",
            "00000000-0000-0000-0000-000000000000",
            "127.0.0.1",
            "::1",
            "not-a-format",
        ];
        if !f.formats.is_empty() || hint.is_some_and(|h| !h.formats.is_empty()) {
            base.extend(formats.iter().map(|s| s.to_string()));
        }
        for s in &base {
            let n = s.chars().count() as u64;
            if n >= f.min_len && f.max_len.is_none_or(|m| n <= m) {
                push(out, Value::String(s.clone()));
            }
            // pad or trim to the interesting lengths
            for &l in &lens {
                if l > 4096 {
                    continue;
                }
                let mut t: String = s.chars().take(l as usize).collect();
                while (t.chars().count() as u64) < l {
                    t.push('a');
                }
                push(out, Value::String(t));
            }
        }
        for &l in &lens {
            if l <= 4096 {
                push(out, Value::String("a".repeat(l as usize)));
                push(out, Value::String("0".repeat(l as usize)));
            }
        }
        for s in ["!", " ", "A", "-1", "\u{3}"] {
            push(out, Value::String(s.to_string()));
        }
    }

    fn array_candidates(&mut self, f: &Facts<'a>, hint: Option<&Facts<'a>>, out: &mut Vec<Value>) {
        if self.gen_depth > MAX_GEN_DEPTH {
            push(out, json!([]));
            return;
        }
        let mut lens: Vec<u64> = vec![f.min_items, f.min_items.saturating_add(1), 0, 1, 2];
        if let Some(m) = f.max_items {
            lens.push(m);
        }
        if let Some(h) = hint {
            lens.push(h.min_items.saturating_sub(1));
            if let Some(m) = h.max_items {
                lens.push(m.saturating_add(1));
            }
        }
        let mut items: Vec<Option<Value>> = Vec::new();
        let top = lens.iter().copied().filter(|l| *l <= 16).max().unwrap_or(0) as usize;
        for j in 0..top.max(1) {
            let s = f.items_at(j);
            items.push(self.gen_valid(&s));
        }
        // an item satisfying a `contains` of a (if any)
        let mut contained: Option<Value> = None;
        if let Some(cn) = f.contains.first() {
            let mut list = f.items_at(f.max_prefix());
            list.push(cn.schema.clone());
            contained = self.gen_valid(&list);
        }
        for &l in &lens {
            if l > 16 {
                continue;
            }
            let l = l as usize;
            let mut arr = Vec::new();
            let mut ok = true;
            for j in 0..l {
                match items.get(j).cloned().flatten() {
                    Some(v) => arr.push(v),
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                push(out, Value::Array(arr.clone()));
                if let Some(cv) = &contained {
                    let mut a2 = arr.clone();
                    for x in a2.iter_mut() {
                        *x = cv.clone();
                    }
                    push(out, Value::Array(a2));
                }
                if l >= 2 {
                    let mut dup = arr.clone();
                    dup[1] = dup[0].clone();
                    push(out, Value::Array(dup));
                }
            }
        }
        if let Some(h) = hint.filter(|_| self.gen_depth <= 2) {
            // arrays whose items probe the hint's item schemas
            if let Some(hg) = h.arr.first() {
                let p = f.max_prefix().max(hg.prefix.len());
                for i in 0..=p.min(4) {
                    let ai = f.items_at(i);
                    let bi = if i < hg.prefix.len() {
                        Some(hg.prefix[i].clone())
                    } else {
                        hg.rest.clone()
                    };
                    if let Some(bi) = bi {
                        let dnf = self.expand(&ai);
                        for c in dnf.iter().take(2) {
                            self.gen_depth += 1;
                            let fa = self.conj_facts(c, crate::facts::ALL);
                            let hb = self.leaf_facts(&bi);
                            let cands = self.candidates(&fa, Some(&hb));
                            self.gen_depth -= 1;
                            for v in cands.into_iter().take(12) {
                                let mut arr: Vec<Value> = Vec::new();
                                let len = (i + 1).max(f.min_items as usize).min(16);
                                let mut ok = true;
                                for j in 0..len {
                                    if j == i {
                                        arr.push(v.clone());
                                    } else {
                                        match items.get(j).cloned().flatten() {
                                            Some(x) => arr.push(x),
                                            None => {
                                                ok = false;
                                                break;
                                            }
                                        }
                                    }
                                }
                                if ok {
                                    push(out, Value::Array(arr));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn object_candidates(&mut self, f: &Facts<'a>, hint: Option<&Facts<'a>>, out: &mut Vec<Value>) {
        if self.gen_depth > MAX_GEN_DEPTH {
            push(out, json!({}));
            return;
        }
        let Some(base) = self.object_base(f, None) else {
            return;
        };
        push(out, Value::Object(base.clone()));
        // drop each optional-looking property set: base minus required are invalid for a; skip
        let mut names: Vec<String> = Vec::new();
        if let Some(h) = hint {
            for g in &h.obj {
                names.extend(g.props.iter().map(|(k, _)| k.clone()));
                for (p, _) in &g.patterns {
                    names.extend(regexp::samples(p));
                }
            }
            names.extend(h.dep_req.iter().map(|(k, _)| k.clone()));
            names.extend(h.dep_schemas.iter().map(|(k, _)| k.clone()));
            names.extend(h.required.iter().cloned());
        }
        for g in &f.obj {
            names.extend(g.props.iter().map(|(k, _)| k.clone()));
            for (p, _) in &g.patterns {
                names.extend(regexp::samples(p));
            }
        }
        if let Some(fin) = &f.finite_names {
            names.extend(fin.iter().cloned());
        }
        names.extend(["extra".to_string(), "x".to_string()]);
        let mut seen: Vec<String> = Vec::new();
        for n in names {
            if seen.contains(&n) || base.contains_key(&n) || !self.prop_possible(f, &n) {
                continue;
            }
            seen.push(n.clone());
            if seen.len() > 12 {
                break;
            }
            let schemas = self.a_prop_schemas(f, &n);
            // a valid value, plus values probing the hint's schema for that name
            let mut vals: Vec<Value> = Vec::new();
            if let Some(v) = self.gen_valid(&schemas) {
                vals.push(v);
            }
            if let Some(h) = hint.filter(|_| self.gen_depth <= 2)
                && let Some(hg) = h.obj.first()
            {
                let m = |p: &str| self.pattern_match(p, &n) != Tri::No;
                let bl = hg.schemas_for(&n, &m);
                if let Some(bs) = bl.first() {
                    let dnf = self.expand(&schemas);
                    for c in dnf.iter().take(2) {
                        self.gen_depth += 1;
                        let fa = self.conj_facts(c, crate::facts::ALL);
                        let hb = self.leaf_facts(bs);
                        let cands = self.candidates(&fa, Some(&hb));
                        self.gen_depth -= 1;
                        vals.extend(cands.into_iter().take(10));
                    }
                }
            }
            for v in vals {
                let mut m = base.clone();
                m.insert(n.clone(), v);
                push(out, Value::Object(m));
            }
        }
    }
}

//! A three-valued JSON Schema validator used to test candidate values
//! (enumerated values, witnesses). `Maybe` means "could not decide"
//! (unsupported pattern, format, keyword, or a non-terminating `$ref` cycle).

use crate::doc::Loc;
use crate::engine::Engine;
use crate::num::{N, is_multiple_of, json_eq};
use serde_json::{Map, Value};

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    pub(crate) fn from_bool(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
    pub(crate) fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }
    pub(crate) fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }
    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
        }
    }
}

type Stack = Vec<(usize, String, usize)>;

pub(crate) fn as_count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < 1e18)
            .map(|f| f as u64)
    })
}

fn type_matches(t: &str, inst: &Value) -> bool {
    match t {
        "null" => inst.is_null(),
        "boolean" => inst.is_boolean(),
        "object" => inst.is_object(),
        "array" => inst.is_array(),
        "string" => inst.is_string(),
        "number" => inst.is_number(),
        "integer" => inst
            .as_number()
            .is_some_and(|n| N::from_number(n).is_integer()),
        _ => false,
    }
}

fn format_check(f: &str, s: &str) -> Tri {
    let re = |p: &str| regex::Regex::new(p).map_or(Tri::Maybe, |r| Tri::from_bool(r.is_match(s)));
    match f {
        "date" => re(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"),
        "date-time" => re(
            r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$",
        ),
        "time" => {
            re(r"^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
        }
        "email" => re(r"^[^@\s]+@[^@\s]+$"),
        "uuid" => {
            re(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
        }
        "ipv4" => Tri::from_bool(s.parse::<std::net::Ipv4Addr>().is_ok() && !s.contains(":")),
        "ipv6" => Tri::from_bool(s.parse::<std::net::Ipv6Addr>().is_ok()),
        _ => Tri::Maybe,
    }
}

impl<'a> Engine<'a> {
    /// Validate `inst` against the schema at `loc`.
    pub(crate) fn validate(&self, loc: &Loc<'a>, inst: &Value) -> Tri {
        let mut st = Vec::new();
        self.val(loc, inst, &mut st, 0)
    }

    /// Validate against every schema of a conjunction (`nots` must fail).
    pub(crate) fn validate_all(&self, leaves: &[Loc<'a>], nots: &[Loc<'a>], inst: &Value) -> Tri {
        let mut r = Tri::Yes;
        for l in leaves {
            r = r.and(self.validate(l, inst));
            if r == Tri::No {
                return r;
            }
        }
        for n in nots {
            r = r.and(self.validate(n, inst).not());
            if r == Tri::No {
                return r;
            }
        }
        r
    }

    fn val(&self, loc: &Loc<'a>, inst: &Value, st: &mut Stack, depth: u32) -> Tri {
        if depth > 256 {
            return Tri::Maybe;
        }
        let m = match loc.v {
            Value::Bool(b) => return Tri::from_bool(*b),
            Value::Object(m) => m,
            _ => return Tri::Maybe,
        };
        let key = (loc.doc, loc.ptr.clone(), inst as *const Value as usize);
        if st.contains(&key) {
            return Tri::Maybe;
        }
        st.push(key);
        let r = self.val_obj(loc, m, inst, st, depth);
        st.pop();
        r
    }

    fn sub_val(&self, loc: &Loc<'a>, key: &str, inst: &Value, st: &mut Stack, depth: u32) -> Tri {
        match loc.child(key) {
            Some(c) => self.val(&c, inst, st, depth + 1),
            None => Tri::Yes,
        }
    }

    fn val_obj(
        &self,
        loc: &Loc<'a>,
        m: &'a Map<String, Value>,
        inst: &Value,
        st: &mut Stack,
        depth: u32,
    ) -> Tri {
        let mut r = Tri::Yes;
        macro_rules! acc {
            ($e:expr) => {{
                r = r.and($e);
                if r == Tri::No {
                    return Tri::No;
                }
            }};
        }
        if self.openapi() && m.get("nullable") == Some(&Value::Bool(true)) && inst.is_null() {
            return Tri::Yes;
        }
        if let Some(t) = self.ref_target(loc) {
            acc!(self.val(&t, inst, st, depth + 1));
        }
        if self.docs[loc.doc].legacy_ref && m.contains_key("$ref") {
            return r;
        }
        if m.contains_key("$dynamicRef") || m.contains_key("$recursiveRef") {
            r = r.and(Tri::Maybe);
        }
        if let Some(t) = m.get("type") {
            let ok = match t {
                Value::String(s) => type_matches(s, inst),
                Value::Array(a) => a
                    .iter()
                    .any(|x| x.as_str().is_some_and(|s| type_matches(s, inst))),
                _ => true,
            };
            acc!(Tri::from_bool(ok));
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            acc!(Tri::from_bool(e.iter().any(|x| json_eq(x, inst))));
        }
        if let Some(c) = m.get("const") {
            acc!(Tri::from_bool(json_eq(c, inst)));
        }
        for k in ["allOf", "anyOf", "oneOf"] {
            if let Some(l) = loc.child(k) {
                let n = l.v.as_array().map_or(0, Vec::len);
                let rs: Vec<Tri> = (0..n)
                    .filter_map(|i| l.index(i))
                    .map(|s| self.val(&s, inst, st, depth + 1))
                    .collect();
                let yes = rs.iter().filter(|x| **x == Tri::Yes).count();
                let maybe = rs.iter().filter(|x| **x == Tri::Maybe).count();
                let v = match k {
                    "allOf" => rs.iter().fold(Tri::Yes, |a, b| a.and(*b)),
                    "anyOf" => rs.iter().fold(Tri::No, |a, b| a.or(*b)),
                    _ => {
                        if yes >= 2 {
                            Tri::No
                        } else if yes == 1 && maybe == 0 {
                            Tri::Yes
                        } else if yes + maybe == 0 {
                            Tri::No
                        } else {
                            Tri::Maybe
                        }
                    }
                };
                acc!(v);
            }
        }
        if let Some(n) = loc.child("not") {
            acc!(self.val(&n, inst, st, depth + 1).not());
        }
        if let Some(i) = loc.child("if") {
            let c = self.val(&i, inst, st, depth + 1);
            let t = self.sub_val(loc, "then", inst, st, depth);
            let e = self.sub_val(loc, "else", inst, st, depth);
            let v = match c {
                Tri::Yes => t,
                Tri::No => e,
                Tri::Maybe => {
                    if t == e {
                        t
                    } else {
                        Tri::Maybe
                    }
                }
            };
            acc!(v);
        }
        match inst {
            Value::Number(n) => acc!(self.val_number(m, N::from_number(n))),
            Value::String(s) => {
                let len = s.chars().count() as u64;
                if let Some(x) = m.get("minLength").and_then(as_count) {
                    acc!(Tri::from_bool(len >= x));
                }
                if let Some(x) = m.get("maxLength").and_then(as_count) {
                    acc!(Tri::from_bool(len <= x));
                }
                if let Some(Value::String(p)) = m.get("pattern") {
                    acc!(self.pattern_match(p, s));
                }
                if self.opts.assert_formats
                    && let Some(Value::String(f)) = m.get("format")
                {
                    acc!(format_check(f, s));
                }
            }
            Value::Array(a) => acc!(self.val_array(loc, m, a, st, depth)),
            Value::Object(o) => acc!(self.val_object(loc, m, o, st, depth)),
            _ => {}
        }
        r
    }

    fn val_number(&self, m: &Map<String, Value>, x: N) -> Tri {
        let mut r = Tri::Yes;
        if let Some(mo) = m.get("multipleOf").and_then(N::from_value) {
            r = r.and(match is_multiple_of(x, mo) {
                Some(b) => Tri::from_bool(b),
                None => Tri::Maybe,
            });
        }
        let (lo, hi) = crate::facts::numeric_bounds(m);
        if let Some(l) = lo {
            let c = x.cmp(l.v);
            r = r.and(Tri::from_bool(c.is_gt() || (c.is_eq() && !l.excl)));
        }
        if let Some(h) = hi {
            let c = x.cmp(h.v);
            r = r.and(Tri::from_bool(c.is_lt() || (c.is_eq() && !h.excl)));
        }
        r
    }

    fn val_array(
        &self,
        loc: &Loc<'a>,
        m: &Map<String, Value>,
        a: &[Value],
        st: &mut Stack,
        depth: u32,
    ) -> Tri {
        let mut r = Tri::Yes;
        let len = a.len() as u64;
        if let Some(x) = m.get("minItems").and_then(as_count) {
            r = r.and(Tri::from_bool(len >= x));
        }
        if let Some(x) = m.get("maxItems").and_then(as_count) {
            r = r.and(Tri::from_bool(len <= x));
        }
        if r == Tri::No {
            return r;
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) {
            for i in 0..a.len() {
                for j in i + 1..a.len() {
                    if json_eq(&a[i], &a[j]) {
                        return Tri::No;
                    }
                }
            }
        }
        let (prefix, rest) = crate::facts::array_layout(loc);
        for (i, item) in a.iter().enumerate() {
            let s = if i < prefix.len() {
                Some(&prefix[i])
            } else {
                rest.as_ref()
            };
            if let Some(s) = s {
                r = r.and(self.val(s, item, st, depth + 1));
                if r == Tri::No {
                    return r;
                }
            }
        }
        if let Some(c) = loc.child("contains") {
            let mut yes = 0u64;
            let mut maybe = 0u64;
            for item in a {
                match self.val(&c, item, st, depth + 1) {
                    Tri::Yes => yes += 1,
                    Tri::Maybe => maybe += 1,
                    Tri::No => {}
                }
            }
            let minc = m.get("minContains").and_then(as_count).unwrap_or(1);
            let maxc = m.get("maxContains").and_then(as_count);
            let lo_ok = if yes >= minc {
                Tri::Yes
            } else if yes + maybe >= minc {
                Tri::Maybe
            } else {
                Tri::No
            };
            let hi_ok = match maxc {
                None => Tri::Yes,
                Some(mx) => {
                    if yes + maybe <= mx {
                        Tri::Yes
                    } else if yes <= mx {
                        Tri::Maybe
                    } else {
                        Tri::No
                    }
                }
            };
            r = r.and(lo_ok).and(hi_ok);
        }
        if m.get("unevaluatedItems")
            .is_some_and(|u| u != &Value::Bool(true))
        {
            r = r.and(Tri::Maybe);
        }
        r
    }

    fn val_object(
        &self,
        loc: &Loc<'a>,
        m: &Map<String, Value>,
        o: &Map<String, Value>,
        st: &mut Stack,
        depth: u32,
    ) -> Tri {
        let mut r = Tri::Yes;
        let n = o.len() as u64;
        if let Some(x) = m.get("minProperties").and_then(as_count) {
            r = r.and(Tri::from_bool(n >= x));
        }
        if let Some(x) = m.get("maxProperties").and_then(as_count) {
            r = r.and(Tri::from_bool(n <= x));
        }
        if let Some(Value::Array(req)) = m.get("required") {
            for k in req.iter().filter_map(Value::as_str) {
                r = r.and(Tri::from_bool(o.contains_key(k)));
            }
        }
        if r == Tri::No {
            return r;
        }
        let mut deps: Vec<(&String, &Value)> = Vec::new();
        if let Some(Value::Object(d)) = m.get("dependentRequired") {
            deps.extend(d.iter());
        }
        if let Some(Value::Object(d)) = m.get("dependencies") {
            deps.extend(d.iter().filter(|(_, v)| v.is_array()));
        }
        for (k, need) in deps {
            if o.contains_key(k.as_str())
                && let Value::Array(need) = need
            {
                for x in need.iter().filter_map(Value::as_str) {
                    r = r.and(Tri::from_bool(o.contains_key(x)));
                }
            }
        }
        for key in ["dependentSchemas", "dependencies"] {
            if let Some(ds) = loc.child(key)
                && let Value::Object(dm) = ds.v
            {
                for (k, v) in dm {
                    if v.is_array() || !o.contains_key(k.as_str()) {
                        continue;
                    }
                    if let Some(s) = ds.child(k) {
                        let inst = Value::Object(o.clone());
                        r = r.and(self.val(&s, &inst, st, depth + 1));
                    }
                }
            }
        }
        let props = loc.child("properties");
        let pats = loc.child("patternProperties");
        let addl = loc.child("additionalProperties");
        let pnames = loc.child("propertyNames");
        for (k, v) in o {
            if r == Tri::No {
                return r;
            }
            if let Some(pn) = &pnames {
                let name = Value::String(k.clone());
                r = r.and(self.val(pn, &name, st, depth + 1));
            }
            let mut matched = Tri::No;
            if let Some(p) = props.as_ref().and_then(|p| p.child(k)) {
                matched = Tri::Yes;
                r = r.and(self.val(&p, v, st, depth + 1));
            }
            if let Some(pp) = &pats
                && let Value::Object(pm) = pp.v
            {
                for pat in pm.keys() {
                    let mt = self.pattern_match(pat, k);
                    if mt == Tri::No {
                        continue;
                    }
                    if let Some(s) = pp.child(pat) {
                        let vr = self.val(&s, v, st, depth + 1);
                        r = r.and(if mt == Tri::Yes {
                            vr
                        } else {
                            vr.or(Tri::Maybe)
                        });
                    }
                    matched = matched.or(mt);
                }
            }
            if let Some(a) = &addl
                && matched != Tri::Yes
            {
                let vr = self.val(a, v, st, depth + 1);
                r = r.and(if matched == Tri::No {
                    vr
                } else {
                    vr.or(Tri::Maybe)
                });
            }
        }
        if m.get("unevaluatedProperties")
            .is_some_and(|u| u != &Value::Bool(true))
        {
            r = r.and(Tri::Maybe);
        }
        r
    }

    /// Whether `s` matches pattern `p` (unsupported patterns: `Maybe`).
    pub(crate) fn pattern_match(&self, p: &str, s: &str) -> Tri {
        match self.regex(p) {
            Some(re) => Tri::from_bool(re.is_match(s)),
            None => Tri::Maybe,
        }
    }
}

//! Exact-enough numeric helpers: JSON numbers compared without going through
//! `f64` when both sides are integers, and small rationals for `multipleOf`.

use serde_json::{Number, Value};
use std::cmp::Ordering;

/// A JSON number: an exact integer or a float.
#[derive(Clone, Copy, Debug)]
pub(crate) enum N {
    I(i128),
    F(f64),
}

impl N {
    pub(crate) fn from_number(n: &Number) -> N {
        if let Some(u) = n.as_u64() {
            N::I(i128::from(u))
        } else if let Some(i) = n.as_i64() {
            N::I(i128::from(i))
        } else {
            N::F(n.as_f64().unwrap_or(0.0))
        }
    }

    pub(crate) fn from_value(v: &Value) -> Option<N> {
        v.as_number().map(N::from_number)
    }

    pub(crate) fn is_integer(self) -> bool {
        match self {
            N::I(_) => true,
            N::F(f) => f.is_finite() && f.fract() == 0.0,
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            N::I(i) => i as f64,
            N::F(f) => f,
        }
    }

    /// The integer value, when this number is integral and fits.
    pub(crate) fn as_int(self) -> Option<i128> {
        match self {
            N::I(i) => Some(i),
            N::F(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e30 => Some(f as i128),
            N::F(_) => None,
        }
    }

    pub(crate) fn to_value(self) -> Value {
        match self {
            N::I(i) => {
                if let Ok(v) = i64::try_from(i) {
                    Value::from(v)
                } else if let Ok(v) = u64::try_from(i) {
                    Value::from(v)
                } else {
                    Number::from_f64(i as f64).map_or(Value::Null, Value::Number)
                }
            }
            N::F(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }

    pub(crate) fn cmp(self, other: N) -> Ordering {
        match (self, other) {
            (N::I(a), N::I(b)) => a.cmp(&b),
            (N::F(a), N::F(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            (N::F(a), N::I(b)) => cmp_f_i(a, b),
            (N::I(a), N::F(b)) => cmp_f_i(b, a).reverse(),
        }
    }

    pub(crate) fn eq(self, other: N) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

fn cmp_f_i(f: f64, i: i128) -> Ordering {
    if f.is_nan() {
        return Ordering::Equal;
    }
    let fl = f.floor();
    let fi = fl as i128; // saturating
    match fi.cmp(&i) {
        Ordering::Equal => {
            if f == fl {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        o => o,
    }
}

/// A positive-or-negative rational with `d > 0`, reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rat {
    pub n: i128,
    pub d: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

impl Rat {
    pub(crate) fn new(n: i128, d: i128) -> Option<Rat> {
        if d == 0 {
            return None;
        }
        let g = gcd(n, d).max(1);
        let (mut n, mut d) = (n / g, d / g);
        if d < 0 {
            n = n.checked_neg()?;
            d = d.checked_neg()?;
        }
        Some(Rat { n, d })
    }

    pub(crate) fn from_n(x: N) -> Option<Rat> {
        match x {
            N::I(i) => Rat::new(i, 1),
            N::F(f) => {
                if !f.is_finite() {
                    return None;
                }
                let s = format!("{f}");
                parse_decimal(&s)
            }
        }
    }

    /// Whether `self / other` is an integer.
    pub(crate) fn divisible_by(self, other: Rat) -> Option<bool> {
        if other.n == 0 {
            return None;
        }
        // (self.n / self.d) / (other.n / other.d) = self.n*other.d / (self.d*other.n)
        let num = self.n.checked_mul(other.d)?;
        let den = self.d.checked_mul(other.n)?;
        Some(num.checked_rem(den)? == 0)
    }

    /// Least common multiple of two positive rationals.
    pub(crate) fn lcm(self, other: Rat) -> Option<Rat> {
        let a = self.n.abs();
        let b = other.n.abs();
        let g = gcd(a, b).max(1);
        let l = (a / g).checked_mul(b)?;
        Rat::new(l, gcd(self.d, other.d).max(1))
    }

    pub(crate) fn is_integer(self) -> bool {
        self.d == 1
    }
}

fn parse_decimal(s: &str) -> Option<Rat> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (ip, fp) = match body.split_once('.') {
        Some((a, b)) => (a, b),
        None => (body, ""),
    };
    if fp.len() > 30 || ip.len() > 30 {
        return None;
    }
    let den = 10i128.checked_pow(u32::try_from(fp.len()).ok()?)?;
    let ipv: i128 = if ip.is_empty() { 0 } else { ip.parse().ok()? };
    let fpv: i128 = if fp.is_empty() { 0 } else { fp.parse().ok()? };
    let num = ipv.checked_mul(den)?.checked_add(fpv)?;
    Rat::new(if neg { -num } else { num }, den)
}

/// Whether the number `v` is a multiple of `m` (three-valued: `None` = unknown).
pub(crate) fn is_multiple_of(v: N, m: N) -> Option<bool> {
    let rv = Rat::from_n(v)?;
    let rm = Rat::from_n(m)?;
    rv.divisible_by(rm)
}

/// JSON equality with numbers compared by value (`1 == 1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => N::from_number(x).eq(N::from_number(y)),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// A numeric bound.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    pub v: N,
    pub excl: bool,
}

/// Whether lower bound `a` (on the candidate subset) implies lower bound `b`.
pub(crate) fn lower_implies(a: Option<Bound>, b: Bound) -> bool {
    match a {
        None => false,
        Some(a) => match a.v.cmp(b.v) {
            Ordering::Greater => true,
            Ordering::Equal => !b.excl || a.excl,
            Ordering::Less => false,
        },
    }
}

/// Whether upper bound `a` implies upper bound `b`.
pub(crate) fn upper_implies(a: Option<Bound>, b: Bound) -> bool {
    match a {
        None => false,
        Some(a) => match a.v.cmp(b.v) {
            Ordering::Less => true,
            Ordering::Equal => !b.excl || a.excl,
            Ordering::Greater => false,
        },
    }
}

/// The tighter of two lower bounds.
pub(crate) fn max_lower(a: Option<Bound>, b: Bound) -> Bound {
    match a {
        None => b,
        Some(a) => match a.v.cmp(b.v) {
            Ordering::Greater => a,
            Ordering::Less => b,
            Ordering::Equal => Bound {
                v: a.v,
                excl: a.excl || b.excl,
            },
        },
    }
}

/// The tighter of two upper bounds.
pub(crate) fn min_upper(a: Option<Bound>, b: Bound) -> Bound {
    match a {
        None => b,
        Some(a) => match a.v.cmp(b.v) {
            Ordering::Less => a,
            Ordering::Greater => b,
            Ordering::Equal => Bound {
                v: a.v,
                excl: a.excl || b.excl,
            },
        },
    }
}

/// Whether the interval between two bounds holds no number at all.
pub(crate) fn range_empty(lo: Option<Bound>, hi: Option<Bound>) -> bool {
    match (lo, hi) {
        (Some(l), Some(h)) => match l.v.cmp(h.v) {
            Ordering::Greater => true,
            Ordering::Equal => l.excl || h.excl,
            Ordering::Less => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_exactly() {
        let a = N::from_value(&json!(9007199254740993u64)).expect("n");
        let b = N::from_value(&json!(9007199254740992u64)).expect("n");
        assert!(!a.eq(b));
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(
            &json!(9007199254740994u64),
            &serde_json::from_str::<Value>("9007199254740994.0").expect("json")
        ));
    }

    #[test]
    fn rationals() {
        let r = Rat::from_n(N::F(1.5)).expect("rat");
        assert_eq!(r, Rat { n: 3, d: 2 });
        assert_eq!(is_multiple_of(N::I(3), N::F(1.5)), Some(true));
        assert_eq!(is_multiple_of(N::I(1), N::F(1.5)), Some(false));
        assert_eq!(is_multiple_of(N::F(0.3), N::F(0.1)), Some(true));
        let l = Rat::new(1, 1).and_then(|a| a.lcm(r)).expect("lcm");
        assert_eq!(l, Rat { n: 3, d: 1 });
    }
}

//! Pattern support: translating the ECMA-262 shorthands that differ from the
//! `regex` crate, generating sample strings for witnesses, and recognising
//! literal-anchored patterns for property-name reasoning.
//!
//! Patterns the `regex` crate cannot compile (look-around, back-references,
//! `\cX` escapes, ...) are *unsupported*: every question about them answers
//! "unknown", which the engine treats conservatively.

use regex::Regex;

/// Translate ECMA-262 ASCII shorthands (`\d`, `\w`, and negations) into the
/// explicit classes the ECMA semantics mean (the `regex` crate makes them
/// Unicode-aware). Returns `None` for patterns this pass cannot read.
fn translate(p: &str) -> Option<String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next()?;
                match (n, in_class) {
                    ('d', false) => out.push_str("[0-9]"),
                    ('d', true) => out.push_str("0-9"),
                    ('D', false) => out.push_str("[^0-9]"),
                    ('D', true) => out.push_str("[^0-9]"),
                    ('w', false) => out.push_str("[0-9A-Za-z_]"),
                    ('w', true) => out.push_str("0-9A-Za-z_"),
                    ('W', false) => out.push_str("[^0-9A-Za-z_]"),
                    ('W', true) => out.push_str("[^0-9A-Za-z_]"),
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A leading ']' (or '^]') is literal in some dialects; keep as is.
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Compile a JSON Schema pattern, `None` when unsupported.
pub(crate) fn compile(p: &str) -> Option<Regex> {
    let t = translate(p)?;
    Regex::new(&t).ok()
}

#[derive(Debug, Clone)]
enum Node {
    Lit(char),
    Class(Vec<(char, char)>, bool),
    Any,
    Group(Vec<Vec<(Node, u32, u32)>>),
    Empty,
}

struct Parser<'s> {
    s: Vec<char>,
    i: usize,
    _p: std::marker::PhantomData<&'s ()>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn alt(&mut self, depth: u32) -> Option<Vec<Vec<(Node, u32, u32)>>> {
        if depth > 20 {
            return None;
        }
        let mut alts = vec![self.seq(depth)?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.seq(depth)?);
        }
        Some(alts)
    }
    fn seq(&mut self, depth: u32) -> Option<Vec<(Node, u32, u32)>> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(depth)?;
            let (lo, hi) = self.quant()?;
            out.push((atom, lo, hi));
        }
        Some(out)
    }
    fn quant(&mut self) -> Option<(u32, u32)> {
        let r = match self.peek() {
            Some('*') => {
                self.i += 1;
                (0, 3)
            }
            Some('+') => {
                self.i += 1;
                (1, 3)
            }
            Some('?') => {
                self.i += 1;
                (0, 1)
            }
            Some('{') => {
                let start = self.i;
                self.i += 1;
                let mut num = String::new();
                while let Some(c) = self.peek() {
                    if c == '}' {
                        break;
                    }
                    num.push(c);
                    self.i += 1;
                }
                if self.peek() != Some('}') {
                    self.i = start;
                    return Some((1, 1));
                }
                self.i += 1;
                let (a, b) = match num.split_once(',') {
                    Some((a, b)) => {
                        let a: u32 = a.trim().parse().ok()?;
                        let b: u32 = if b.trim().is_empty() {
                            a.saturating_add(2)
                        } else {
                            b.trim().parse().ok()?
                        };
                        (a, b)
                    }
                    None => {
                        let a: u32 = num.trim().parse().ok()?;
                        (a, a)
                    }
                };
                (a.min(64), b.min(64))
            }
            _ => return Some((1, 1)),
        };
        // lazy / possessive markers
        if matches!(self.peek(), Some('?') | Some('+')) {
            self.i += 1;
        }
        Some(r)
    }
    fn escape_class(c: char) -> Option<(Vec<(char, char)>, bool)> {
        Some(match c {
            'd' => (vec![('0', '9')], false),
            'D' => (vec![('0', '9')], true),
            'w' => (vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
            'W' => (vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], true),
            's' => (vec![(' ', ' '), ('\t', '\t'), ('\n', '\n')], false),
            'S' => (vec![(' ', ' '), ('\t', '\t'), ('\n', '\n')], true),
            _ => return None,
        })
    }
    fn escaped_char(&mut self, c: char) -> Option<char> {
        Some(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\u{c}',
            'v' => '\u{b}',
            '0' => '\0',
            'x' => {
                let h: String = self.s.get(self.i..self.i + 2)?.iter().collect();
                self.i += 2;
                char::from_u32(u32::from_str_radix(&h, 16).ok()?)?
            }
            'u' => {
                let h: String = self.s.get(self.i..self.i + 4)?.iter().collect();
                self.i += 4;
                char::from_u32(u32::from_str_radix(&h, 16).ok()?)?
            }
            c if c.is_ascii_alphanumeric() => return None,
            c => c,
        })
    }
    fn atom(&mut self, depth: u32) -> Option<Node> {
        let c = self.peek()?;
        self.i += 1;
        Some(match c {
            '^' | '$' => Node::Empty,
            '.' => Node::Any,
            '(' => {
                if self.peek() == Some('?') {
                    // only non-capturing groups are understood
                    if self.s.get(self.i + 1) == Some(&':') {
                        self.i += 2;
                    } else {
                        return None;
                    }
                }
                let g = self.alt(depth + 1)?;
                if self.peek() != Some(')') {
                    return None;
                }
                self.i += 1;
                Node::Group(g)
            }
            '[' => {
                let mut neg = false;
                if self.peek() == Some('^') {
                    neg = true;
                    self.i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let c = self.peek()?;
                    self.i += 1;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let lo = if c == '\\' {
                        let e = self.peek()?;
                        self.i += 1;
                        if let Some((mut r, n)) = Self::escape_class(e) {
                            if n {
                                return None;
                            }
                            ranges.append(&mut r);
                            continue;
                        }
                        self.escaped_char(e)?
                    } else {
                        c
                    };
                    if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|&x| x != ']')
                    {
                        self.i += 1;
                        let mut hi = self.peek()?;
                        self.i += 1;
                        if hi == '\\' {
                            let e = self.peek()?;
                            self.i += 1;
                            hi = self.escaped_char(e)?;
                        }
                        ranges.push((lo, hi));
                    } else {
                        ranges.push((lo, lo));
                    }
                }
                Node::Class(ranges, neg)
            }
            '\\' => {
                let e = self.peek()?;
                self.i += 1;
                if let Some((r, n)) = Self::escape_class(e) {
                    Node::Class(r, n)
                } else if e == 'b' || e == 'B' {
                    Node::Empty
                } else {
                    Node::Lit(self.escaped_char(e)?)
                }
            }
            '*' | '+' | '?' | ')' => return None,
            c => Node::Lit(c),
        })
    }
}

fn pick_class(ranges: &[(char, char)], neg: bool, variant: usize) -> Option<char> {
    if !neg {
        let r = ranges.get(variant % ranges.len().max(1))?;
        return Some(r.0);
    }
    "a0_-xZ ~é"
        .chars()
        .find(|c| !ranges.iter().any(|(lo, hi)| lo <= c && c <= hi))
}

fn render(seq: &[(Node, u32, u32)], variant: usize, out: &mut String) -> Option<()> {
    for (node, lo, hi) in seq {
        let reps = match variant {
            0 => *lo,
            1 => lo.saturating_add(1).min(*hi),
            _ => *hi,
        };
        for _ in 0..reps {
            match node {
                Node::Lit(c) => out.push(*c),
                Node::Any => out.push('a'),
                Node::Class(r, neg) => out.push(pick_class(r, *neg, variant)?),
                Node::Group(alts) => {
                    let alt = alts.get(variant.min(alts.len().saturating_sub(1)))?;
                    render(alt, variant, out)?;
                }
                Node::Empty => {}
            }
        }
    }
    Some(())
}

/// Best-effort sample strings for a pattern (unverified: callers must check
/// them against the compiled regex).
pub(crate) fn samples(p: &str) -> Vec<String> {
    let mut parser = Parser {
        s: p.chars().collect(),
        i: 0,
        _p: std::marker::PhantomData,
    };
    let Some(alts) = parser.alt(0) else {
        return Vec::new();
    };
    if parser.i != parser.s.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for variant in 0..3 {
        for alt in &alts {
            let mut s = String::new();
            if render(alt, variant, &mut s).is_some() && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// How a literal-anchored pattern constrains a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    /// `^lit$`
    Exact(String),
    /// `^lit`, `^lit.*`, `^lit.*$`
    Prefix(String),
    /// `lit$`, `.*lit$`, `^.*lit$`
    Suffix(String),
}

fn plain_literal(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            let n = it.next()?;
            if n.is_ascii_alphanumeric() {
                return None;
            }
            out.push(n);
        } else if "^$.*+?()[]{}|".contains(c) {
            return None;
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Recognise literal-anchored patterns.
pub(crate) fn literal(p: &str) -> Option<Literal> {
    if let Some(rest) = p.strip_prefix('^') {
        if let Some(mid) = rest.strip_suffix("$") {
            if let Some(mid2) = mid.strip_suffix(".*") {
                return plain_literal(mid2).map(Literal::Prefix);
            }
            if let Some(mid2) = mid.strip_prefix(".*") {
                return plain_literal(mid2).map(Literal::Suffix);
            }
            return plain_literal(mid).map(Literal::Exact);
        }
        let rest = rest.strip_suffix(".*").unwrap_or(rest);
        return plain_literal(rest).map(Literal::Prefix);
    }
    if let Some(mid) = p.strip_suffix('$') {
        let mid = mid.strip_prefix(".*").unwrap_or(mid);
        return plain_literal(mid).map(Literal::Suffix);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecma_shorthands_are_ascii() {
        let r = compile(r"^\d+$").expect("compiles");
        assert!(r.is_match("123"));
        assert!(!r.is_match("١٢٣"));
        assert!(compile(r"^\cC$").is_none());
        assert!(compile(r"^(?=x$)x$").is_none());
    }

    #[test]
    fn samples_match() {
        for p in [
            "^foo.*$",
            "^[a-z]{3}-\\d+$",
            "(ab|cd)+",
            "x$",
            "^v[0-9]+\\.[0-9]+$",
        ] {
            let r = compile(p).expect("compiles");
            let s = samples(p);
            assert!(s.iter().any(|s| r.is_match(s)), "{p}: {s:?}");
        }
    }

    #[test]
    fn literals() {
        assert_eq!(literal("^x$"), Some(Literal::Exact("x".into())));
        assert_eq!(literal("^foo.*$"), Some(Literal::Prefix("foo".into())));
        assert_eq!(literal("^x"), Some(Literal::Prefix("x".into())));
        assert_eq!(literal("x$"), Some(Literal::Suffix("x".into())));
        assert_eq!(literal("^a.b$"), None);
    }
}

//! The JSONPath subset that Pact matching rules are keyed by: `$`, `.name`, `['name']`, `[0]`,
//! `[*]` and `.*`, and how strongly an expression matches a concrete path.

use std::fmt;

/// One step of a path expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Root,
    Field(String),
    Index(usize),
    /// `[*]`: any index.
    StarIndex,
    /// `.*`: any field or index.
    Star,
}

/// A parsed path expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathExpr {
    tokens: Vec<Token>,
}

impl PathExpr {
    /// `$`.
    pub fn root() -> PathExpr {
        PathExpr {
            tokens: vec![Token::Root],
        }
    }

    /// `$.name` for a named item (header, query parameter).
    pub fn name(name: &str) -> PathExpr {
        PathExpr {
            tokens: vec![Token::Root, Token::Field(name.to_owned())],
        }
    }

    /// Number of tokens, `$` included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the expression is only `$`.
    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= 1
    }

    /// The name of a `$.name` expression.
    pub fn as_name(&self) -> Option<&str> {
        match self.tokens.as_slice() {
            [Token::Root, Token::Field(n)] => Some(n),
            _ => None,
        }
    }

    /// Parses an expression.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(text: &str) -> Result<PathExpr, String> {
        let bad = |why: &str| format!("invalid path expression `{text}`: {why}");
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut tokens = Vec::new();
        if chars.first() == Some(&'$') {
            tokens.push(Token::Root);
            i = 1;
        } else {
            tokens.push(Token::Root);
            // A bare name (`Content-Type`, `animals`): one field.
            if !text.is_empty() {
                let mut expr = PathExpr { tokens };
                let rest = PathExpr::parse(&format!("$.{text}"))?;
                expr.tokens = rest.tokens;
                return Ok(expr);
            }
        }
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err(bad("empty name after `.`"));
                    }
                    tokens.push(if name == "*" {
                        Token::Star
                    } else {
                        Token::Field(name)
                    });
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some('\'') | Some('"') => {
                            let quote = chars[i];
                            i += 1;
                            let start = i;
                            while i < chars.len() && chars[i] != quote {
                                i += 1;
                            }
                            if i >= chars.len() {
                                return Err(bad("unterminated quoted name"));
                            }
                            let name: String = chars[start..i].iter().collect();
                            i += 1;
                            if chars.get(i) != Some(&']') {
                                return Err(bad("expected `]`"));
                            }
                            i += 1;
                            tokens.push(Token::Field(name));
                        }
                        Some('*') => {
                            if chars.get(i + 1) != Some(&']') {
                                return Err(bad("expected `]` after `*`"));
                            }
                            i += 2;
                            tokens.push(Token::StarIndex);
                        }
                        Some(_) => {
                            let start = i;
                            while i < chars.len() && chars[i] != ']' {
                                i += 1;
                            }
                            let digits: String = chars[start..i].iter().collect();
                            let index = digits
                                .trim()
                                .parse()
                                .map_err(|_| bad("expected an index, `*` or a quoted name"))?;
                            if i >= chars.len() {
                                return Err(bad("expected `]`"));
                            }
                            i += 1;
                            tokens.push(Token::Index(index));
                        }
                        None => return Err(bad("unterminated `[`")),
                    }
                }
                c => return Err(bad(&format!("unexpected character `{c}`"))),
            }
        }
        Ok(PathExpr { tokens })
    }

    /// Splits a v2 expression (`$.body.a`, `$.headers.X`, `$.query.q`, `$.path`) into its
    /// category and the expression within it.
    ///
    /// # Errors
    /// When the expression names no category.
    pub fn split_category(&self) -> Result<(String, PathExpr), String> {
        let Some(Token::Field(first)) = self.tokens.get(1) else {
            return Err(format!("matching rule path `{self}` names no category"));
        };
        let rest = || PathExpr {
            tokens: std::iter::once(Token::Root)
                .chain(self.tokens[2..].iter().cloned())
                .collect(),
        };
        match first.as_str() {
            "body" => Ok(("body".into(), rest())),
            "headers" | "header" => Ok(("header".into(), rest())),
            "query" => Ok(("query".into(), rest())),
            "path" => Ok(("path".into(), PathExpr::root())),
            "status" => Ok(("status".into(), PathExpr::root())),
            "metadata" | "metaData" => Ok(("metadata".into(), rest())),
            "contents" | "content" => Ok(("body".into(), rest())),
            // Message pacts (v3) key content rules from the root.
            _ => Ok(("body".into(), self.clone())),
        }
    }
}

impl fmt::Display for PathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tokens {
            match t {
                Token::Root => f.write_str("$")?,
                Token::Field(n) if is_plain(n) => write!(f, ".{n}")?,
                Token::Field(n) => write!(f, "['{n}']")?,
                Token::Index(i) => write!(f, "[{i}]")?,
                Token::StarIndex => f.write_str("[*]")?,
                Token::Star => f.write_str(".*")?,
            }
        }
        Ok(())
    }
}

fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '#')
}

/// How strongly `expr` matches `path` (or an ancestor of it): 0 when it does not, else the
/// product of 2 per exactly matching step and 1 per wildcard step.
pub fn weight(expr: &PathExpr, path: &[String]) -> usize {
    if path.len() < expr.tokens.len() {
        return 0;
    }
    let mut w = 1;
    for (token, part) in expr.tokens.iter().zip(path) {
        let t = match token {
            Token::Root if part == "$" => 2,
            Token::Field(name) if name == part => 2,
            Token::Index(i) if part.parse::<usize>().ok() == Some(*i) => 2,
            Token::StarIndex if part.parse::<usize>().is_ok() => 1,
            Token::Star => 1,
            _ => 0,
        };
        w *= t;
        if w == 0 {
            return 0;
        }
    }
    w
}

/// Renders a concrete path (`["$", "a", "0", "b c"]`) as `$.a[0]['b c']`.
pub fn display(path: &[String]) -> String {
    let mut out = String::new();
    for (i, part) in path.iter().enumerate() {
        if i == 0 && part == "$" {
            out.push('$');
        } else if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else if is_plain(part) {
            out.push('.');
            out.push_str(part);
        } else {
            out.push_str(&format!("['{part}']"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_and_prints() {
        for text in [
            "$",
            "$.a.b",
            "$.a[0].b",
            "$.a[*].*",
            "$['a b'].c",
            "$.a['@id']",
        ] {
            assert_eq!(PathExpr::parse(text).expect(text).to_string(), text);
        }
        assert_eq!(PathExpr::parse("$[\"x\"]").expect("dq").to_string(), "$.x");
        assert!(PathExpr::parse("$.a[").is_err());
        assert!(PathExpr::parse("$.a[x]").is_err());
    }

    #[test]
    fn weights_prefer_exact_steps_and_cascade_to_children() {
        let exact = PathExpr::parse("$.animals[*].phone").expect("p");
        let parent = PathExpr::parse("$.animals").expect("p");
        let path = p(&["$", "animals", "0", "phone"]);
        assert_eq!(weight(&exact, &path), 8);
        assert_eq!(weight(&parent, &path), 4);
        assert_eq!(weight(&exact, &p(&["$", "animals"])), 0);
        assert_eq!(
            weight(&PathExpr::parse("$.*").expect("p"), &p(&["$", "x"])),
            2
        );
        assert_eq!(
            weight(&PathExpr::parse("$[*]").expect("p"), &p(&["$", "x"])),
            0
        );
    }

    #[test]
    fn v2_categories() {
        let (c, rest) = PathExpr::parse("$.body.a[*]")
            .expect("p")
            .split_category()
            .expect("c");
        assert_eq!((c.as_str(), rest.to_string().as_str()), ("body", "$.a[*]"));
        let (c, rest) = PathExpr::parse("$.headers.Content-Type")
            .expect("p")
            .split_category()
            .expect("c");
        assert_eq!(
            (c.as_str(), rest.as_name()),
            ("header", Some("Content-Type"))
        );
    }

    #[test]
    fn display_of_concrete_paths() {
        assert_eq!(display(&p(&["$", "a", "0", "b c"])), "$.a[0]['b c']");
    }
}

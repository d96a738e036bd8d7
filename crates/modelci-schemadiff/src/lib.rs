//! Direction-aware JSON Schema compatibility checking.
//!
//! The question this crate answers is *"is every JSON value valid under
//! schema `a` also valid under schema `b`?"* ([`is_subschema`]), and, built on
//! it, whether a change from an `old` to a `new` version of a contract breaks
//! its users ([`check`]):
//!
//! * [`Role::Serializer`] — a writer (a response read by old clients): the
//!   change is compatible iff `new ⊆ old` (the output may only narrow).
//! * [`Role::Deserializer`] — a reader (a request accepted from old clients):
//!   compatible iff `old ⊆ new` (the input may only widen).
//!
//! ```
//! use modelci_schemadiff::{check, Role};
//! use serde_json::json;
//!
//! let old = json!({"type": "object", "properties": {"id": {"type": "integer"}}});
//! let new = json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]});
//!
//! // A response that now always carries `id` is fine for old readers...
//! assert!(check(&old, &new, Role::Serializer).unwrap().compatible);
//! // ...but a request that now requires it breaks old writers.
//! let report = check(&old, &new, Role::Deserializer).unwrap();
//! assert!(!report.compatible);
//! assert_eq!(report.findings[0].kind.id(), "required-added");
//! assert_eq!(report.findings[0].witness, Some(json!({})));
//! ```
//!
//! # Soundness
//!
//! A report saying *compatible* is meant to be a proof: whenever the engine
//! cannot establish an inclusion (unsupported regex features, keywords it
//! does not reason about, comparisons that are too large) it reports
//! *incompatible* with a finding explaining why ([`FindingKind::Unprovable`]
//! or a message saying "not proven"). Findings come with a **witness** — a
//! concrete value accepted by `a` and rejected by `b` — when one was found;
//! every witness is checked with the crate's own validator before it is
//! reported.
//!
//! # Algorithm
//!
//! 1. **Input checks.** Every schema reachable from both roots is checked to
//!    be an object or a boolean, and every `$ref` must resolve locally
//!    (`#/...` pointers, `$anchor`s, or `$id`s declared in the same document);
//!    otherwise a [`SchemaError`] is returned.
//! 2. **Left-hand side normalisation.** `a` is expanded into a disjunction of
//!    conjunctions: `$ref` and `allOf` conjoin, `anyOf` distributes,
//!    `oneOf` becomes `⋁ᵢ (Aᵢ ∧ ⋀_{j≠i} ¬Aⱼ)`, `if/then/else` becomes
//!    `(if ∧ then) ∨ (¬if ∧ else)`, `not` is kept as a negative constraint,
//!    and OpenAPI 3.0 `nullable: true` adds a `null` disjunct. Each
//!    conjunction's direct keywords are merged into *facts* (type set,
//!    numeric interval and step, string lengths and patterns, array
//!    layout, object property groups, ...). Empty type parts are pruned (an
//!    empty numeric interval, a required property that cannot exist, a
//!    `not` that covers a whole type, ...). Over-approximating the left side is
//!    always sound, so whatever is not understood there (too many disjuncts,
//!    unguarded `$ref` cycles) is widened to `true`.
//! 3. **Finite left-hand sides** (an `enum`/`const`, booleans and null, or a
//!    small integer range) are decided value by value with a three-valued
//!    validator: a value `a` accepts (or may accept) that `b` does not surely
//!    accept is a counterexample or an unprovable case.
//! 4. **Right-hand side, keyword by keyword.** `$ref`/`allOf`: every part must
//!    hold. `anyOf`: one branch must contain the conjunction, or, after
//!    splitting it by JSON type, one branch per type. `oneOf`: a branch must
//!    contain it *and* every other branch must be provably disjoint from it.
//!    `not N`: the conjunction must be provably disjoint from `N`. Direct
//!    keywords compare facts: type sets (`integer ⊂ number`, a number type is
//!    integral when its `multipleOf` is integral or its interval is one
//!    integer), interval containment with exclusive bounds, `multipleOf`
//!    divisibility by exact rationals, length/item/property counts, equal
//!    patterns (different patterns are never assumed to imply one another),
//!    `required`, `dependentRequired`, `propertyNames`, `contains` with
//!    `minContains`/`maxContains`, `uniqueItems`, tuple items position by
//!    position, and per-property schemas — for each declared name and for
//!    each class of undeclared names (which `patternProperties` of either
//!    side match it), where unsupported patterns are tried both ways.
//! 5. **Recursion.** Each (left conjunction, right location) pair being
//!    compared is memoised; meeting a pair again while it is in progress
//!    assumes it holds (a coinductive, greatest-fixpoint reading that makes
//!    recursive schemas such as linked lists terminate). Failures are cached
//!    unconditionally; successes only when they did not rely on an
//!    assumption still open higher up.
//! 6. **Witnesses.** Candidates are generated from the facts of `a` (boundary
//!    values of both sides, pattern samples, arrays and objects filled with
//!    generated members) and the first one the validator confirms as
//!    accepted by `a` and rejected by `b` becomes the witness. Nested
//!    witnesses (a property value, an array item) are embedded into a
//!    generated parent value and checked again at every level.
//!
//! Dialects: JSON Schema 2020-12, with draft 4/6/7 forms also read
//! (`definitions`, boolean `exclusiveMinimum`/`exclusiveMaximum`, `items` as
//! an array with `additionalItems`, `dependencies`, and `$ref` overriding its
//! siblings when the root's `$schema` names draft 7 or older). With
//! [`Dialect::OpenApi30`], `nullable: true` means "or null" and `$ref`
//! overrides siblings. Unknown keywords (including `x-` extensions) are
//! annotations and ignored. `format` is an annotation unless
//! [`Options::assert_formats`] is set.

#![warn(missing_docs)]

mod doc;
mod engine;
mod facts;
mod num;
mod regexp;
mod validate;
mod witness;

use serde_json::Value;

/// Which side of the contract the schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A writer (e.g. a response read by old clients): compatible iff every
    /// value valid under `new` is valid under `old`.
    Serializer,
    /// A reader (e.g. a request receiving old clients' payloads): compatible
    /// iff every value valid under `old` is valid under `new`.
    Deserializer,
}

/// Schema dialect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// JSON Schema 2020-12 (draft 4/6/7 keyword forms are also understood).
    #[default]
    JsonSchema,
    /// OpenAPI 3.0 schema objects: `nullable: true` adds `null`, and `$ref`
    /// makes its sibling keywords ignored.
    OpenApi30,
}

/// Checking options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The schema dialect of both documents.
    pub dialect: Dialect,
    /// Treat `format` as an assertion (a `format` in the target that the
    /// source does not also declare is then a breaking change).
    pub assert_formats: bool,
}

/// A schema inside a document: `root` is the whole document (used to resolve
/// `$ref`s such as `#/components/schemas/Pet`), `pointer` the JSON pointer of
/// the schema in it (`""` or `"#"` for the root itself).
#[derive(Clone, Copy, Debug)]
pub struct SchemaRef<'a> {
    /// The document that `$ref`s are resolved against.
    pub root: &'a Value,
    /// JSON pointer of the schema inside `root` (`""`, `"#"`, `"/a/b"` or `"#/a/b"`).
    pub pointer: &'a str,
}

impl<'a> SchemaRef<'a> {
    /// The document itself is the schema.
    pub fn root(root: &'a Value) -> Self {
        SchemaRef { root, pointer: "" }
    }

    /// The schema at `pointer` inside `root`.
    pub fn at(root: &'a Value, pointer: &'a str) -> Self {
        SchemaRef { root, pointer }
    }
}

/// Unusable input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A subschema is neither an object nor a boolean.
    #[error("{document} schema: {pointer} is not a schema (expected an object or a boolean)")]
    NotASchema {
        /// `"old"`/`"new"` (or `"a"`/`"b"` for [`is_subschema`]).
        document: &'static str,
        /// Location of the offending value.
        pointer: String,
    },
    /// A `$ref` that does not resolve inside its document.
    #[error("{document} schema: $ref {reference:?} at {pointer} cannot be resolved")]
    UnresolvableRef {
        /// `"old"`/`"new"` (or `"a"`/`"b"`).
        document: &'static str,
        /// Location of the schema holding the `$ref`.
        pointer: String,
        /// The reference text.
        reference: String,
    },
    /// The pointer given in a [`SchemaRef`] does not exist.
    #[error("{document} schema: pointer {pointer:?} does not exist in the document")]
    MissingPointer {
        /// `"old"`/`"new"` (or `"a"`/`"b"`).
        document: &'static str,
        /// The pointer as given.
        pointer: String,
    },
}

macro_rules! kinds {
    ($( $(#[$doc:meta])* $name:ident => $id:literal ),* $(,)?) => {
        /// Stable identifiers for findings, phrased as the change from the
        /// old schema to the new one (see [`FindingKind::id`]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum FindingKind {
            $( $(#[$doc])* $name, )*
        }

        impl FindingKind {
            /// The stable kebab-case id (e.g. `"type-narrowed"`).
            pub fn id(self) -> &'static str {
                match self { $( FindingKind::$name => $id, )* }
            }

            /// Every kind, in declaration order.
            pub fn all() -> &'static [FindingKind] {
                &[ $( FindingKind::$name, )* ]
            }
        }
    };
}

kinds! {
    /// The new schema accepts fewer JSON types.
    TypeNarrowed => "type-narrowed",
    /// The new schema accepts more JSON types.
    TypeWidened => "type-widened",
    /// `null` is no longer accepted (e.g. `nullable` removed).
    NullRemoved => "null-removed",
    /// `null` is newly accepted.
    NullAdded => "null-added",
    /// A value accepted before is no longer in the enumeration.
    EnumValueRemoved => "enum-value-removed",
    /// A value outside the old enumeration is now accepted.
    EnumValueAdded => "enum-value-added",
    /// The `const` value changed (or a `const` was introduced or dropped).
    ConstChanged => "const-changed",
    /// A property became required.
    RequiredAdded => "required-added",
    /// A required property became optional.
    RequiredRemoved => "required-removed",
    /// A property that was accepted is now forbidden.
    PropertyRemoved => "property-removed",
    /// A property that was forbidden is now accepted.
    PropertyAdded => "property-added",
    /// Undeclared properties are no longer accepted.
    AdditionalPropertiesClosed => "additional-properties-closed",
    /// Undeclared properties are now accepted.
    AdditionalPropertiesOpened => "additional-properties-opened",
    /// `patternProperties` constraints changed in a breaking way.
    PatternPropertiesChanged => "pattern-properties-changed",
    /// Fewer property names are accepted.
    PropertyNamesNarrowed => "property-names-narrowed",
    /// More property names are accepted.
    PropertyNamesWidened => "property-names-widened",
    /// `minProperties` raised.
    MinPropertiesRaised => "min-properties-raised",
    /// `minProperties` lowered.
    MinPropertiesLowered => "min-properties-lowered",
    /// `maxProperties` lowered.
    MaxPropertiesLowered => "max-properties-lowered",
    /// `maxProperties` raised.
    MaxPropertiesRaised => "max-properties-raised",
    /// A `dependentRequired` constraint was added.
    DependentRequiredAdded => "dependent-required-added",
    /// A `dependentRequired` constraint was removed.
    DependentRequiredRemoved => "dependent-required-removed",
    /// `dependentSchemas` changed.
    DependentSchemasChanged => "dependent-schemas-changed",
    /// The lower bound was raised (or made exclusive).
    MinimumRaised => "minimum-raised",
    /// The lower bound was lowered (or removed).
    MinimumLowered => "minimum-lowered",
    /// The upper bound was lowered (or made exclusive).
    MaximumLowered => "maximum-lowered",
    /// The upper bound was raised (or removed).
    MaximumRaised => "maximum-raised",
    /// `multipleOf` changed in a breaking way.
    MultipleOfChanged => "multiple-of-changed",
    /// `minLength` raised.
    MinLengthRaised => "min-length-raised",
    /// `minLength` lowered.
    MinLengthLowered => "min-length-lowered",
    /// `maxLength` lowered.
    MaxLengthLowered => "max-length-lowered",
    /// `maxLength` raised.
    MaxLengthRaised => "max-length-raised",
    /// `pattern` added or changed (patterns are only equal when identical).
    PatternChanged => "pattern-changed",
    /// An asserted `format` changed (only with [`Options::assert_formats`]).
    FormatChanged => "format-changed",
    /// `minItems` raised.
    MinItemsRaised => "min-items-raised",
    /// `minItems` lowered.
    MinItemsLowered => "min-items-lowered",
    /// `maxItems` lowered.
    MaxItemsLowered => "max-items-lowered",
    /// `maxItems` raised.
    MaxItemsRaised => "max-items-raised",
    /// `uniqueItems` was added.
    UniqueItemsAdded => "unique-items-added",
    /// `uniqueItems` was removed.
    UniqueItemsRemoved => "unique-items-removed",
    /// Array positions that were accepted are now forbidden.
    ItemsClosed => "items-closed",
    /// Array positions that were forbidden are now accepted.
    ItemsOpened => "items-opened",
    /// `contains`/`minContains`/`maxContains` changed in a breaking way.
    ContainsChanged => "contains-changed",
    /// A `oneOf` is no longer satisfied (exactly one branch).
    OneOfChanged => "one-of-changed",
    /// An `anyOf` is no longer satisfied by any branch.
    AnyOfChanged => "any-of-changed",
    /// An `allOf` is no longer satisfied.
    AllOfChanged => "all-of-changed",
    /// A `not` now excludes values that were accepted.
    NotChanged => "not-changed",
    /// An `if`/`then`/`else` is no longer satisfied.
    ConditionalChanged => "conditional-changed",
    /// The new schema rejects everything (`false`).
    SchemaClosed => "schema-closed",
    /// The old schema rejected everything (`false`), the new one does not.
    SchemaOpened => "schema-opened",
    /// The checker could not prove compatibility (unsupported pattern or
    /// keyword, too large a comparison); treated as incompatible.
    Unprovable => "unprovable",
}

/// One reason for incompatibility.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Location in the old document (`#`-prefixed JSON pointer).
    pub pointer_old: String,
    /// Location in the new document (`#`-prefixed JSON pointer).
    pub pointer_new: String,
    /// Location inside the *instance* where the difference shows
    /// (JSON pointer; `*` stands for "any undeclared property",
    /// `N+` for "index N and later").
    pub instance_path: String,
    /// Human-readable explanation.
    pub message: String,
    /// A value accepted by the schema that must be included and rejected by
    /// the other one (for [`Role::Serializer`]: valid under new, invalid
    /// under old; for [`Role::Deserializer`]: valid under old, invalid under
    /// new), when one was found.
    pub witness: Option<Value>,
    /// Stable classification.
    pub kind: FindingKind,
}

/// The result of a compatibility check.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `true` iff the inclusion was proven (then `findings` is empty).
    pub compatible: bool,
    /// Why not, when not compatible.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The report as JSON (`{"compatible": bool, "findings": [...]}`), each
    /// finding with `kind`, `pointer_old`, `pointer_new`, `instance_path`,
    /// `message` and `witness` (omitted when absent).
    pub fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let mut m = serde_json::Map::new();
                m.insert("kind".into(), Value::from(f.kind.id()));
                m.insert("pointer_old".into(), Value::from(f.pointer_old.clone()));
                m.insert("pointer_new".into(), Value::from(f.pointer_new.clone()));
                m.insert("instance_path".into(), Value::from(f.instance_path.clone()));
                m.insert("message".into(), Value::from(f.message.clone()));
                if let Some(w) = &f.witness {
                    m.insert("witness".into(), w.clone());
                }
                Value::Object(m)
            })
            .collect();
        serde_json::json!({ "compatible": self.compatible, "findings": findings })
    }
}

fn kind_for(aspect: engine::Aspect, role: Role) -> FindingKind {
    use FindingKind as K;
    use engine::Aspect as A;
    let narrowing = role == Role::Deserializer;
    let pick = |n: K, w: K| if narrowing { n } else { w };
    match aspect {
        A::Type => pick(K::TypeNarrowed, K::TypeWidened),
        A::Null => pick(K::NullRemoved, K::NullAdded),
        A::Enum => pick(K::EnumValueRemoved, K::EnumValueAdded),
        A::Const => K::ConstChanged,
        A::Required => pick(K::RequiredAdded, K::RequiredRemoved),
        A::PropertyForbidden => pick(K::PropertyRemoved, K::PropertyAdded),
        A::AdditionalClosed => pick(K::AdditionalPropertiesClosed, K::AdditionalPropertiesOpened),
        A::PatternProps => K::PatternPropertiesChanged,
        A::PropertyNames => pick(K::PropertyNamesNarrowed, K::PropertyNamesWidened),
        A::MinProps => pick(K::MinPropertiesRaised, K::MinPropertiesLowered),
        A::MaxProps => pick(K::MaxPropertiesLowered, K::MaxPropertiesRaised),
        A::DepRequired => pick(K::DependentRequiredAdded, K::DependentRequiredRemoved),
        A::DepSchemas => K::DependentSchemasChanged,
        A::Minimum => pick(K::MinimumRaised, K::MinimumLowered),
        A::Maximum => pick(K::MaximumLowered, K::MaximumRaised),
        A::MultipleOf => K::MultipleOfChanged,
        A::MinLength => pick(K::MinLengthRaised, K::MinLengthLowered),
        A::MaxLength => pick(K::MaxLengthLowered, K::MaxLengthRaised),
        A::Pattern => K::PatternChanged,
        A::Format => K::FormatChanged,
        A::MinItems => pick(K::MinItemsRaised, K::MinItemsLowered),
        A::MaxItems => pick(K::MaxItemsLowered, K::MaxItemsRaised),
        A::Unique => pick(K::UniqueItemsAdded, K::UniqueItemsRemoved),
        A::ItemsClosed => pick(K::ItemsClosed, K::ItemsOpened),
        A::Contains => K::ContainsChanged,
        A::OneOf => K::OneOfChanged,
        A::AnyOf => K::AnyOfChanged,
        A::Not => K::NotChanged,
        A::IfThenElse => K::ConditionalChanged,
        A::SchemaFalse => pick(K::SchemaClosed, K::SchemaOpened),
        A::Unsupported => K::Unprovable,
    }
}

fn locate<'a>(
    s: SchemaRef<'a>,
    name: &'static str,
    doc: usize,
) -> Result<doc::Loc<'a>, SchemaError> {
    let p = s.pointer.strip_prefix('#').unwrap_or(s.pointer);
    let v = s
        .root
        .pointer(p)
        .ok_or_else(|| SchemaError::MissingPointer {
            document: name,
            pointer: s.pointer.to_string(),
        })?;
    Ok(doc::Loc {
        doc,
        ptr: p.to_string(),
        v,
    })
}

/// Core: is `a ⊆ b`? Names are used in errors and messages.
fn run(
    a: SchemaRef<'_>,
    b: SchemaRef<'_>,
    names: (&'static str, &'static str),
    role: Role,
    opts: &Options,
) -> Result<Report, SchemaError> {
    let openapi = opts.dialect == Dialect::OpenApi30;
    let docs = vec![
        doc::DocInfo::new(a.root, names.0, openapi),
        doc::DocInfo::new(b.root, names.1, openapi),
        doc::DocInfo::new(&doc::SYNTH, "synthetic", false),
    ];
    let la = locate(a, names.0, 0)?;
    let lb = locate(b, names.1, 1)?;
    doc::check_reachable(&docs, la.clone())?;
    doc::check_reachable(&docs, lb.clone())?;
    let fails = run_engine(docs, opts, &la, &lb);
    let (a_label, b_label) = match role {
        Role::Serializer => ("the new schema", "the old schema"),
        Role::Deserializer => ("the old schema", "the new schema"),
    };
    let findings: Vec<Finding> = fails
        .into_iter()
        .map(|f| {
            let message = f.msg.replace("{a}", a_label).replace("{b}", b_label);
            let message = capitalize(&message);
            let (pointer_old, pointer_new) = match role {
                Role::Serializer => (f.b_ptr, f.a_ptr),
                Role::Deserializer => (f.a_ptr, f.b_ptr),
            };
            Finding {
                pointer_old,
                pointer_new,
                instance_path: f.path,
                message,
                witness: f.witness,
                kind: kind_for(f.aspect, role),
            }
        })
        .collect();
    // The same schema-level cause met again through recursion or several
    // disjuncts is reported once (the first, shallowest occurrence).
    let mut unique: Vec<Finding> = Vec::new();
    for f in findings {
        let dup = unique.iter().any(|u| {
            u.kind == f.kind
                && u.pointer_old == f.pointer_old
                && u.pointer_new == f.pointer_new
                && u.message == f.message
        });
        if !dup {
            unique.push(f);
        }
    }
    let findings = unique;
    Ok(Report {
        compatible: findings.is_empty(),
        findings,
    })
}

/// Stack for the comparison thread: recursive schemas are explored depth
/// first, and deep `$ref` graphs need more than a default thread stack.
const ENGINE_STACK: usize = 256 * 1024 * 1024;

fn run_engine<'a>(
    docs: Vec<doc::DocInfo<'a>>,
    opts: &Options,
    la: &doc::Loc<'a>,
    lb: &doc::Loc<'a>,
) -> Vec<engine::Fail> {
    let work = move || {
        let mut engine = engine::Engine::new(docs, opts.clone());
        engine.sub(std::slice::from_ref(la), lb)
    };
    let joined = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("schemadiff".into())
            .stack_size(ENGINE_STACK)
            .spawn_scoped(s, work)
            .map(|h| h.join())
    });
    match joined {
        Ok(Ok(fails)) => fails,
        _ => vec![engine::Fail {
            aspect: engine::Aspect::Unsupported,
            a_ptr: la.display(),
            b_ptr: lb.display(),
            path: String::new(),
            msg: "the comparison could not be completed (internal error); {a} is not proven to fit {b}".into(),
            witness: None,
        }],
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Check a change from `old` to `new` for the given role (JSON Schema
/// dialect, formats as annotations; see [`check_with`] for options).
pub fn check(old: &Value, new: &Value, role: Role) -> Result<Report, SchemaError> {
    check_with(
        SchemaRef::root(old),
        SchemaRef::root(new),
        role,
        &Options::default(),
    )
}

/// Check a change from `old` to `new` for the given role, with schemas that
/// may live inside larger documents (e.g. OpenAPI `components`).
pub fn check_with(
    old: SchemaRef<'_>,
    new: SchemaRef<'_>,
    role: Role,
    opts: &Options,
) -> Result<Report, SchemaError> {
    match role {
        Role::Serializer => run(new, old, ("new", "old"), role, opts),
        Role::Deserializer => run(old, new, ("old", "new"), role, opts),
    }
}

/// Is every value valid under `a` also valid under `b`?
///
/// Equivalent to [`check`] with `old = a`, `new = b` and
/// [`Role::Deserializer`]: findings name `a` as "the old schema" and `b` as
/// "the new schema", and witnesses are valid under `a` and invalid under `b`.
pub fn is_subschema(a: &Value, b: &Value) -> Result<Report, SchemaError> {
    is_subschema_with(SchemaRef::root(a), SchemaRef::root(b), &Options::default())
}

/// [`is_subschema`] with options and schemas inside larger documents.
pub fn is_subschema_with(
    a: SchemaRef<'_>,
    b: SchemaRef<'_>,
    opts: &Options,
) -> Result<Report, SchemaError> {
    check_with(a, b, Role::Deserializer, opts)
}

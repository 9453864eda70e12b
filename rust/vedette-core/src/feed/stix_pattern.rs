//! The STIX patterning language (2.0 and 2.1), and the part of it vedette compiles.
//!
//! [`Compiler::compile`] parses the whole grammar of the specification (observation
//! expressions, `AND`/`OR`/`FOLLOWEDBY` between them, the `WITHIN`/`REPEATS`/`START..STOP`
//! qualifiers, `AND`/`OR` between comparisons, every operator and literal, comments) with a
//! hand-written recursive-descent parser, then compiles the subset of docs/semantics.md
//! §3.5. We parse all of it, rather than match the shapes we take, so that the load report
//! tells a broken pattern ("invalid pattern") from a valid one we do not index
//! ("unsupported pattern: MATCHES"), and so that the decision to compile sees the whole
//! pattern: nothing is half-compiled. Only an `OR` may load part of itself, because each of
//! its atoms alone implies the pattern; its other atoms are reported one by one.
//!
//! Speed: the ANTLR-based stix2-patterns reads a few thousand patterns/s, minutes for a
//! 1M indicator feed; this reads about two million. One `Compiler` serves a whole
//! bundle: the lexer hands out byte spans, the tree lives in arenas cleared per pattern,
//! and the only allocation per pattern is each value.

use std::borrow::Cow;

use super::types::{self, TypeKind, Vocabulary};
use crate::indicator::Kind;

mod grammar;

use grammar::*;

/// Longest piece of a pattern quoted in a message.
const QUOTE_LIMIT: usize = 120;

/// One indicator value a pattern compiles to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Atom {
    /// `None` for the address of a `network-traffic` ref whose type the pattern leaves
    /// open: the builder infers IPv4 or IPv6 from the value.
    pub kind: Option<Kind>,
    /// The string literal, unescaped, not normalized.
    pub value: String,
    /// The other terms of an `AND` with a file hash, for the description.
    pub context: Option<String>,
}

/// Why a pattern, or one atom of an `OR`, does not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Rejected {
    /// The short reason the load report counts by.
    pub category: &'static str,
    /// The reason with the offending part of the pattern.
    pub message: String,
}

fn cut(text: &str) -> &str {
    let mut end = text.len().min(QUOTE_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn reject(category: &'static str, what: &str) -> Rejected {
    let ellipsis = if what.len() > QUOTE_LIMIT { "…" } else { "" };
    Rejected { category, message: format!("{category}: {}{ellipsis}", cut(what)) }
}

fn syntax(what: &str, offset: usize) -> Rejected {
    Rejected { category: "invalid pattern", message: format!("invalid pattern: {what} at offset {offset}") }
}

/// Compiles STIX patterns; one per bundle, reused for every pattern.
#[derive(Default)]
pub(super) struct Compiler {
    tree: Tree,
}

impl Compiler {
    /// Compiles `pattern` into `out` (cleared first): the atoms, and the atoms of an
    /// `OR` that do not compile. `Err` when nothing does: one reason for the indicator.
    pub(super) fn compile(
        &mut self,
        pattern: &str,
        out: &mut Vec<Result<Atom, Rejected>>,
    ) -> Result<(), Rejected> {
        out.clear();
        let tree = &mut self.tree;
        tree.nodes.clear();
        tree.children.clear();
        tree.stack.clear();
        tree.comps.clear();
        tree.lits.clear();
        let mut parser = Parser {
            src: pattern,
            pos: 0,
            last_end: 0,
            peek: Token { tok: Tok::Eof, start: 0, end: 0 },
            tree,
        };
        parser.peek = parser.lex()?;
        let root = parser.pattern()?;
        View { src: pattern, tree: &self.tree }.observation(root, out);
        if out.iter().any(Result::is_ok) {
            return Ok(());
        }
        let more = out.len().saturating_sub(1);
        let mut first = out.drain(..).find_map(Result::err).unwrap_or_else(|| syntax("nothing to match", 0));
        if more > 0 {
            first.message.push_str(&format!(" (and {more} more)"));
        }
        Err(first)
    }
}

/// The hash kind of a `file:hashes` key, in every spelling feeds use: `MD5`, `'SHA-1'`,
/// `SHA256`, `sha_512`. SHA-3, ssdeep, TLSH and the rest have no kind.
fn hash_kind(name: &str) -> Option<Kind> {
    let mut buf = [0u8; 6];
    let mut len = 0;
    for b in name.bytes().filter(|&b| b != b'-' && b != b'_') {
        *buf.get_mut(len)? = b.to_ascii_uppercase();
        len += 1;
    }
    match &buf[..len] {
        b"MD5" => Some(Kind::Md5),
        b"SHA1" => Some(Kind::Sha1),
        b"SHA224" => Some(Kind::Sha224),
        b"SHA256" => Some(Kind::Sha256),
        b"SHA384" => Some(Kind::Sha384),
        b"SHA512" => Some(Kind::Sha512),
        _ => None,
    }
}

/// The kind of the `value` of a STIX object type: of `domain-name:value`, and what a
/// `..._ref.type = 'domain-name'` term gives the ref's value.
fn type_kind(stix_type: &str) -> Option<Kind> {
    match types::type_kind(Vocabulary::Stix, stix_type)? {
        TypeKind::Is(kind) => Some(kind),
        _ => None,
    }
}

fn unescape(raw: &str, escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        // The lexer took only `\'` and `\\`: the next char is the one escaped.
        out.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
    }
    Cow::Owned(out)
}

/// The type terms of the `AND`s around a comparison: `network-traffic:dst_ref.type =
/// 'ipv4-addr'` in `[... AND (network-traffic:dst_ref.value = 'a' OR ...)]`. A linked
/// list on the stack, so that compiling allocates nothing.
struct Ctx<'c> {
    terms: &'c [usize],
    parent: Option<&'c Ctx<'c>>,
}

/// A parsed pattern, being compiled.
struct View<'p, 't> {
    src: &'p str,
    tree: &'t Tree,
}

type Out = Vec<Result<Atom, Rejected>>;

impl<'p> View<'p, '_> {
    fn text(&self, id: usize) -> &'p str {
        let (_, start, end) = self.tree.nodes[id];
        &self.src[start..end]
    }

    fn prop(&self, comp: &Comp) -> Option<Cow<'p, str>> {
        match *comp {
            Comp::Prop { start, end, escaped } => Some(unescape(&self.src[start..end], escaped)),
            Comp::Index => None,
        }
    }

    fn comps(&self, path: &Path) -> &[Comp] {
        &self.tree.comps[path.comps.0..path.comps.1]
    }

    fn observation(&self, id: usize, out: &mut Out) {
        let category = match self.tree.nodes[id].0 {
            Node::Observation(inner) => return self.comparison(inner, None, out),
            Node::ObsOr(lo, hi) => {
                for &child in &self.tree.children[lo..hi] {
                    self.observation(child, out);
                }
                return;
            }
            Node::ObsAnd(..) => "unsupported pattern: AND of observations",
            Node::FollowedBy(..) => "unsupported pattern: FOLLOWEDBY",
            Node::Qualified => "unsupported pattern: qualifier",
            _ => "invalid pattern",
        };
        out.push(Err(reject(category, self.text(id))));
    }

    fn comparison(&self, id: usize, ctx: Option<&Ctx<'_>>, out: &mut Out) {
        match self.tree.nodes[id].0 {
            Node::Or(lo, hi) => {
                for &child in &self.tree.children[lo..hi] {
                    self.comparison(child, ctx, out);
                }
            }
            Node::And(lo, hi) => self.and(id, &self.tree.children[lo..hi], ctx, out),
            Node::Cmp(cmp) => self.atom(id, &cmp, ctx, None, out),
            Node::Exists => out.push(Err(reject("unsupported pattern: EXISTS", self.text(id)))),
            _ => out.push(Err(reject("invalid pattern", self.text(id)))),
        }
    }

    /// An `AND` compiles when one term is a file hash (each hash term loads, the other
    /// terms go to the description), or when all terms but one only constrain a type.
    fn and(&self, id: usize, kids: &[usize], ctx: Option<&Ctx<'_>>, out: &mut Out) {
        if kids.iter().any(|&k| self.hash_term(k).is_some()) {
            let mut context = String::new();
            for &k in kids.iter().filter(|&&k| self.hash_term(k).is_none()) {
                if !context.is_empty() {
                    context.push_str(" AND ");
                }
                match self.tree.nodes[k].0 {
                    Node::Or(..) => context.push_str(&format!("({})", self.text(k))),
                    _ => context.push_str(self.text(k)),
                }
            }
            let context = (!context.is_empty()).then_some(context.as_str());
            for &k in kids {
                if let Some(cmp) = self.hash_term(k) {
                    self.atom(k, &cmp, ctx, context, out);
                }
            }
            return;
        }
        let mut values = kids.iter().copied().filter(|&k| self.type_term(k).is_none());
        match (values.next(), values.next()) {
            (Some(value), None) => self.comparison(value, Some(&Ctx { terms: kids, parent: ctx }), out),
            _ => out.push(Err(reject("unsupported pattern: AND of values", self.text(id)))),
        }
    }

    /// `file:hashes.<a hash we index> = ...` or `IN (...)`.
    fn hash_term(&self, id: usize) -> Option<Cmp> {
        let Node::Cmp(cmp) = self.tree.nodes[id].0 else { return None };
        let (start, end) = cmp.path.object;
        let ok = !cmp.not
            && matches!(cmp.op, Op::Eq | Op::In)
            && &self.src[start..end] == "file"
            && matches!(self.comps(&cmp.path), [hashes, name]
                if self.prop(hashes).as_deref() == Some("hashes")
                    && self.prop(name).is_some_and(|n| hash_kind(&n).is_some()));
        ok.then_some(cmp)
    }

    /// `<path>.type = '<stix type>'`: the path and the type.
    fn type_term(&self, id: usize) -> Option<(Path, Cow<'p, str>)> {
        let Node::Cmp(cmp) = self.tree.nodes[id].0 else { return None };
        let Value::One(Lit { tok: Tok::Str { escaped }, start, end }) = cmp.value else { return None };
        let last = self.comps(&cmp.path).last()?;
        let ok = !cmp.not && cmp.op == Op::Eq && self.prop(last).as_deref() == Some("type");
        ok.then(|| (cmp.path, unescape(&self.src[start..end], escaped)))
    }

    /// Whether two paths name the same object: equal up to their last property.
    fn same_object(&self, a: &Path, b: &Path) -> bool {
        let (ca, cb) = (self.comps(a), self.comps(b));
        self.src[a.object.0..a.object.1] == self.src[b.object.0..b.object.1]
            && ca.len() == cb.len()
            && ca.iter().zip(cb).rev().skip(1).all(|(x, y)| self.prop(x) == self.prop(y))
    }

    /// The kind of the values compared on `path`.
    fn target(&self, path: &Path) -> Result<Option<Kind>, Rejected> {
        let object = &self.src[path.object.0..path.object.1];
        let names: [Option<Cow<'_, str>>; 2] = {
            let comps = self.comps(path);
            [comps.first().and_then(|c| self.prop(c)), comps.get(1).and_then(|c| self.prop(c))]
        };
        let is = |i: usize, name: &str| names[i].as_deref() == Some(name);
        let kind = match (object, self.comps(path).len()) {
            (object, 1) if is(0, "value") && type_kind(object).is_some() => type_kind(object),
            ("email-message", 2) if is(0, "from_ref") && is(1, "value") => Some(Kind::Email),
            ("file", 1) if is(0, "name") => Some(Kind::String),
            ("file", 2) if is(0, "hashes") && names[1].is_some() => {
                let name = names[1].as_deref().unwrap_or_default();
                match hash_kind(name) {
                    Some(kind) => Some(kind),
                    None => return Err(reject("unsupported hash", &self.src[path.span.0..path.span.1])),
                }
            }
            ("network-traffic", 2) if (is(0, "src_ref") || is(0, "dst_ref")) && is(1, "value") => None,
            _ => return Err(reject("unsupported object path", &self.src[path.span.0..path.span.1])),
        };
        Ok(kind)
    }

    /// One comparison: its values, or why it does not compile.
    fn atom(&self, id: usize, cmp: &Cmp, ctx: Option<&Ctx<'_>>, context: Option<&str>, out: &mut Out) {
        let text = self.text(id);
        if cmp.not {
            return out.push(Err(reject("unsupported pattern: NOT", text)));
        }
        if !matches!(cmp.op, Op::Eq | Op::In | Op::IsSubset) {
            return out.push(Err(reject(cmp.op.unsupported(), text)));
        }
        let mut kind = match self.target(&cmp.path) {
            Ok(kind) => kind,
            Err(rejected) => return out.push(Err(rejected)),
        };
        let mut frame = ctx;
        while let Some(f) = frame {
            for &term in f.terms {
                let Some((path, stix_type)) = self.type_term(term) else { continue };
                if !self.same_object(&path, &cmp.path) {
                    return out.push(Err(reject("unsupported pattern: AND of values", text)));
                }
                let Some(constrained) = type_kind(&stix_type) else {
                    return out.push(Err(reject("unsupported object path", self.text(term))));
                };
                match kind {
                    None => kind = Some(constrained),
                    Some(k) if k == constrained => {}
                    Some(_) => return out.push(Err(reject("unsupported pattern: AND of values", text))),
                }
            }
            frame = f.parent;
        }
        if cmp.op == Op::IsSubset && !matches!(kind, None | Some(Kind::Ipv4 | Kind::Ipv6)) {
            return out.push(Err(reject("unsupported pattern: ISSUBSET", text)));
        }
        let lits = match &cmp.value {
            Value::One(lit) => std::slice::from_ref(lit),
            Value::Set(lo, hi) => &self.tree.lits[*lo..*hi],
        };
        if lits.is_empty() {
            return out.push(Err(reject("unsupported pattern: empty set", text)));
        }
        if lits.iter().any(|lit| !matches!(lit.tok, Tok::Str { .. })) {
            return out.push(Err(reject("unsupported pattern: non-string value", text)));
        }
        for lit in lits {
            let Tok::Str { escaped } = lit.tok else { continue };
            let value = unescape(&self.src[lit.start..lit.end], escaped).into_owned();
            out.push(Ok(Atom { kind, value, context: context.map(str::to_string) }));
        }
    }
}

#[cfg(test)]
mod tests;

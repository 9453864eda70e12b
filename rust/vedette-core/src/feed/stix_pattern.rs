//! The STIX patterning language (2.0 and 2.1), and the part of it vedette compiles.
//!
//! [`Compiler::compile`] parses the whole grammar of the specification (observation
//! expressions, `AND`/`OR`/`FOLLOWEDBY` between them, the `WITHIN`/`REPEATS`/`START..STOP`
//! qualifiers, `AND`/`OR` between comparisons, every operator and literal, comments) with
//! a hand-written recursive-descent parser, then compiles the subset of design §2. We
//! parse all of it, rather than match the shapes we take, so that the load report tells
//! a broken pattern ("invalid pattern") from a valid one we do not index ("unsupported
//! pattern: MATCHES"), and so that the decision to compile sees the whole pattern:
//! nothing is half-compiled. Only an `OR` may load part of itself, because each of its
//! atoms alone implies the pattern; its other atoms are reported one by one.
//!
//! Speed: the ANTLR-based stix2-patterns reads a few thousand patterns/s, minutes for a
//! 1M indicator feed; this reads about two million. One `Compiler` serves a whole
//! bundle: the lexer hands out byte spans, the tree lives in arenas cleared per pattern,
//! and the only allocation per pattern is each value.

use std::borrow::Cow;
use std::mem::discriminant;

use memchr::{memchr2, memmem};

use crate::indicator::Kind;

/// Parentheses nest at most this deep: the parser recurses per level, and a hostile
/// feed must not overflow the stack.
const MAX_DEPTH: usize = 64;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
}

impl Op {
    /// The report category of a comparison with this operator, which we do not compile.
    fn unsupported(self) -> &'static str {
        match self {
            Op::Eq => "unsupported pattern: =",
            Op::Ne => "unsupported pattern: !=",
            Op::Lt => "unsupported pattern: <",
            Op::Le => "unsupported pattern: <=",
            Op::Gt => "unsupported pattern: >",
            Op::Ge => "unsupported pattern: >=",
            Op::In => "unsupported pattern: IN",
            Op::Like => "unsupported pattern: LIKE",
            Op::Matches => "unsupported pattern: MATCHES",
            Op::IsSubset => "unsupported pattern: ISSUBSET",
            Op::IsSuperset => "unsupported pattern: ISSUPERSET",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Star,
    Op(Op),
    And,
    Or,
    Not,
    FollowedBy,
    Exists,
    Start,
    Stop,
    Seconds,
    Times,
    Within,
    Repeats,
    /// `'...'`; `escaped` when it holds `\'` or `\\`.
    Str {
        escaped: bool,
    },
    /// `t'...'` (timestamp), `h'...'` (hex) or `b'...'` (base64).
    Typed,
    Int,
    Float,
    Bool,
    Ident,
    Eof,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

/// A literal; for strings, `start..end` is the text between the quotes.
#[derive(Clone, Copy, Debug)]
struct Lit {
    tok: Tok,
    start: usize,
    end: usize,
}

#[derive(Clone, Copy, Debug)]
enum Comp {
    /// `.name` or `.'name'` (the text without quotes).
    Prop { start: usize, end: usize, escaped: bool },
    /// `[0]` or `[*]`.
    Index,
}

#[derive(Clone, Copy, Debug)]
struct Path {
    span: (usize, usize),
    object: (usize, usize),
    /// A range of `Tree::comps`.
    comps: (usize, usize),
}

#[derive(Clone, Copy, Debug)]
enum Value {
    One(Lit),
    /// A range of `Tree::lits`.
    Set(usize, usize),
}

#[derive(Clone, Copy, Debug)]
struct Cmp {
    path: Path,
    not: bool,
    op: Op,
    value: Value,
}

/// A node of the tree; the `(usize, usize)` of the n-ary ones is a range of
/// `Tree::children`. Nested joins of one kind are flattened, so that `OR` chains do
/// not make the tree (and the compiler's recursion) deep.
#[derive(Clone, Copy, Debug)]
enum Node {
    Observation(usize),
    ObsOr(usize, usize),
    ObsAnd(usize, usize),
    FollowedBy(usize, usize),
    Qualified,
    Or(usize, usize),
    And(usize, usize),
    Cmp(Cmp),
    Exists,
}

/// The arenas of one pattern's tree, kept between patterns for their capacity.
#[derive(Default)]
struct Tree {
    /// Each node with the span of the pattern it covers.
    nodes: Vec<(Node, usize, usize)>,
    children: Vec<usize>,
    /// Children of the joins being parsed.
    stack: Vec<usize>,
    comps: Vec<Comp>,
    lits: Vec<Lit>,
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

struct Parser<'p, 't> {
    src: &'p str,
    pos: usize,
    /// Where the last token taken ended: the end of the node being built.
    last_end: usize,
    peek: Token,
    tree: &'t mut Tree,
}

impl Parser<'_, '_> {
    fn skip_blank(&mut self) -> Result<(), Rejected> {
        let b = self.src.as_bytes();
        loop {
            match b.get(self.pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => self.pos += 1,
                Some(b'/') if b.get(self.pos + 1) == Some(&b'*') => {
                    match memmem::find(&b[self.pos + 2..], b"*/") {
                        Some(i) => self.pos += 2 + i + 2,
                        None => return Err(syntax("unterminated comment", self.pos)),
                    }
                }
                Some(b'/') if b.get(self.pos + 1) == Some(&b'/') => {
                    self.pos = memchr2(b'\n', b'\r', &b[self.pos..]).map_or(b.len(), |i| self.pos + i);
                }
                // The grammar's other white space: U+0085, U+00A0, U+2028, U+2029.
                Some(&c) if c >= 0x80 => match self.src[self.pos..].chars().next() {
                    Some(ch) if ch.is_whitespace() => self.pos += ch.len_utf8(),
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
    }

    fn lex(&mut self) -> Result<Token, Rejected> {
        self.skip_blank()?;
        let b = self.src.as_bytes();
        let start = self.pos;
        let Some(&c) = b.get(start) else { return Ok(Token { tok: Tok::Eof, start, end: start }) };
        let next = b.get(start + 1).copied();
        let (tok, len) = match c {
            b'[' => (Tok::LBrack, 1),
            b']' => (Tok::RBrack, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b',' => (Tok::Comma, 1),
            b':' => (Tok::Colon, 1),
            b'.' => (Tok::Dot, 1),
            b'*' => (Tok::Star, 1),
            b'=' => (Tok::Op(Op::Eq), if next == Some(b'=') { 2 } else { 1 }),
            b'!' if next == Some(b'=') => (Tok::Op(Op::Ne), 2),
            b'<' => match next {
                Some(b'=') => (Tok::Op(Op::Le), 2),
                Some(b'>') => (Tok::Op(Op::Ne), 2),
                _ => (Tok::Op(Op::Lt), 1),
            },
            b'>' if next == Some(b'=') => (Tok::Op(Op::Ge), 2),
            b'>' => (Tok::Op(Op::Gt), 1),
            b'\'' => {
                let escaped = self.string(start)?;
                return Ok(Token { tok: Tok::Str { escaped }, start, end: self.pos });
            }
            b'0'..=b'9' => return Ok(self.number(start)),
            b'-' | b'+' if next.is_some_and(|n| n.is_ascii_digit()) => return Ok(self.number(start)),
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => return self.word(start),
            _ => return Err(syntax("unexpected character", start)),
        };
        self.pos = start + len;
        Ok(Token { tok, start, end: self.pos })
    }

    /// Reads the string literal whose quote is at `quote`; whether it has escapes. The
    /// grammar has two, `\'` and `\\`: any other backslash is an error.
    fn string(&mut self, quote: usize) -> Result<bool, Rejected> {
        let b = self.src.as_bytes();
        let (mut i, mut escaped) = (quote + 1, false);
        loop {
            let Some(k) = memchr2(b'\'', b'\\', &b[i..]) else {
                return Err(syntax("unterminated string", quote));
            };
            let at = i + k;
            if b[at] == b'\'' {
                self.pos = at + 1;
                return Ok(escaped);
            }
            if !matches!(b.get(at + 1), Some(b'\'' | b'\\')) {
                return Err(syntax("invalid escape (only \\' and \\\\)", at));
            }
            escaped = true;
            i = at + 2;
        }
    }

    fn number(&mut self, start: usize) -> Token {
        let b = self.src.as_bytes();
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut end = digits(start + 1);
        let mut tok = Tok::Int;
        if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end = digits(end + 1);
            tok = Tok::Float;
        }
        self.pos = end;
        Token { tok, start, end }
    }

    /// A keyword, a boolean, an identifier, or the `t`/`h`/`b` prefix of a literal.
    /// Identifiers may hold `-` (`ipv4-addr`); we also take it in property names
    /// (`hashes.SHA-256`), which the grammar does not but feeds write.
    fn word(&mut self, start: usize) -> Result<Token, Rejected> {
        let b = self.src.as_bytes();
        let mut end = start + 1;
        while b.get(end).is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
            end += 1;
        }
        if end == start + 1 && matches!(b[start], b't' | b'h' | b'b') && b.get(end) == Some(&b'\'') {
            self.string(end)?;
            if !typed_literal_ok(b[start], &b[end + 1..self.pos - 1]) {
                return Err(syntax("malformed typed literal", start));
            }
            return Ok(Token { tok: Tok::Typed, start, end: self.pos });
        }
        let word = &self.src[start..end];
        let tok = match word {
            "AND" => Tok::And,
            "OR" => Tok::Or,
            "NOT" => Tok::Not,
            "FOLLOWEDBY" => Tok::FollowedBy,
            "EXISTS" => Tok::Exists,
            "START" => Tok::Start,
            "STOP" => Tok::Stop,
            "SECONDS" => Tok::Seconds,
            "TIMES" => Tok::Times,
            "WITHIN" => Tok::Within,
            "REPEATS" => Tok::Repeats,
            "IN" => Tok::Op(Op::In),
            "LIKE" => Tok::Op(Op::Like),
            "MATCHES" => Tok::Op(Op::Matches),
            "ISSUBSET" => Tok::Op(Op::IsSubset),
            "ISSUPERSET" => Tok::Op(Op::IsSuperset),
            _ if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") => Tok::Bool,
            _ => Tok::Ident,
        };
        self.pos = end;
        Ok(Token { tok, start, end })
    }

    fn advance(&mut self) -> Result<Token, Rejected> {
        let token = self.peek;
        self.last_end = token.end;
        self.peek = self.lex()?;
        Ok(token)
    }

    fn unexpected(&self, expected: &str) -> Rejected {
        let found = match self.peek.tok {
            Tok::Eof => "the end".to_string(),
            _ => format!("{:?}", cut(&self.src[self.peek.start..self.peek.end])),
        };
        syntax(&format!("expected {expected}, found {found},"), self.peek.start)
    }

    fn expect(&mut self, ok: fn(Tok) -> bool, expected: &str) -> Result<Token, Rejected> {
        if ok(self.peek.tok) {
            self.advance()
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn node(&mut self, node: Node, start: usize) -> usize {
        self.tree.nodes.push((node, start, self.last_end));
        self.tree.nodes.len() - 1
    }

    fn pattern(&mut self) -> Result<usize, Rejected> {
        let root = self.obs_sequence(0)?;
        self.expect(|t| t == Tok::Eof, "the end of the pattern")?;
        Ok(root)
    }

    /// `sub (join sub)*` as one n-ary node of `make`.
    fn join(
        &mut self,
        depth: usize,
        join: Tok,
        make: fn(usize, usize) -> Node,
        sub: fn(&mut Self, usize) -> Result<usize, Rejected>,
    ) -> Result<usize, Rejected> {
        let start = self.peek.start;
        let first = sub(self, depth)?;
        if self.peek.tok != join {
            return Ok(first);
        }
        let base = self.tree.stack.len();
        self.push_flat(first, make);
        while self.peek.tok == join {
            self.advance()?;
            let next = sub(self, depth)?;
            self.push_flat(next, make);
        }
        let tree = &mut *self.tree;
        let lo = tree.children.len();
        tree.children.extend(tree.stack.drain(base..));
        let hi = tree.children.len();
        Ok(self.node(make(lo, hi), start))
    }

    fn push_flat(&mut self, id: usize, make: fn(usize, usize) -> Node) {
        let tree = &mut *self.tree;
        let node = tree.nodes[id].0;
        match node {
            Node::Or(lo, hi)
            | Node::And(lo, hi)
            | Node::ObsOr(lo, hi)
            | Node::ObsAnd(lo, hi)
            | Node::FollowedBy(lo, hi)
                if discriminant(&node) == discriminant(&make(0, 0)) =>
            {
                tree.stack.extend_from_slice(&tree.children[lo..hi]);
            }
            _ => tree.stack.push(id),
        }
    }

    // Observation expressions: FOLLOWEDBY binds loosest, then OR, then AND; qualifiers
    // bind to the observation before them.
    fn obs_sequence(&mut self, depth: usize) -> Result<usize, Rejected> {
        self.join(depth, Tok::FollowedBy, Node::FollowedBy, Self::obs_or)
    }

    fn obs_or(&mut self, depth: usize) -> Result<usize, Rejected> {
        self.join(depth, Tok::Or, Node::ObsOr, Self::obs_and)
    }

    fn obs_and(&mut self, depth: usize) -> Result<usize, Rejected> {
        self.join(depth, Tok::And, Node::ObsAnd, Self::obs_qualified)
    }

    fn obs_qualified(&mut self, depth: usize) -> Result<usize, Rejected> {
        let start = self.peek.start;
        let mut node = self.obs_primary(depth)?;
        loop {
            match self.peek.tok {
                Tok::Within => {
                    self.advance()?;
                    self.expect(|t| matches!(t, Tok::Int | Tok::Float), "a number of seconds")?;
                    self.expect(|t| t == Tok::Seconds, "SECONDS")?;
                }
                Tok::Repeats => {
                    self.advance()?;
                    self.expect(|t| t == Tok::Int, "a count")?;
                    self.expect(|t| t == Tok::Times, "TIMES")?;
                }
                Tok::Start => {
                    let time = |t| t == Tok::Typed; // t'...', in 2.0 as in 2.1
                    self.advance()?;
                    self.expect(time, "a timestamp")?;
                    self.expect(|t| t == Tok::Stop, "STOP")?;
                    self.expect(time, "a timestamp")?;
                }
                _ => return Ok(node),
            }
            node = self.node(Node::Qualified, start);
        }
    }

    fn obs_primary(&mut self, depth: usize) -> Result<usize, Rejected> {
        let start = self.peek.start;
        match self.peek.tok {
            Tok::LBrack => {
                self.advance()?;
                let inner = self.comparison_or(depth)?;
                self.expect(|t| t == Tok::RBrack, "']'")?;
                Ok(self.node(Node::Observation(inner), start))
            }
            Tok::LParen if depth < MAX_DEPTH => {
                self.advance()?;
                let inner = self.obs_sequence(depth + 1)?;
                self.expect(|t| t == Tok::RParen, "')'")?;
                Ok(inner)
            }
            Tok::LParen => Err(syntax("parentheses nested too deeply", start)),
            _ => Err(self.unexpected("'[' or '('")),
        }
    }

    // Comparison expressions, inside `[...]`: OR binds looser than AND.
    fn comparison_or(&mut self, depth: usize) -> Result<usize, Rejected> {
        self.join(depth, Tok::Or, Node::Or, Self::comparison_and)
    }

    fn comparison_and(&mut self, depth: usize) -> Result<usize, Rejected> {
        self.join(depth, Tok::And, Node::And, Self::comparison)
    }

    fn comparison(&mut self, depth: usize) -> Result<usize, Rejected> {
        let start = self.peek.start;
        match self.peek.tok {
            Tok::LParen if depth < MAX_DEPTH => {
                self.advance()?;
                let inner = self.comparison_or(depth + 1)?;
                self.expect(|t| t == Tok::RParen, "')'")?;
                return Ok(inner);
            }
            Tok::LParen => return Err(syntax("parentheses nested too deeply", start)),
            Tok::Exists => {
                self.advance()?;
                self.path()?;
                return Ok(self.node(Node::Exists, start));
            }
            _ => {}
        }
        let path = self.path()?;
        let not = self.peek.tok == Tok::Not;
        if not {
            self.advance()?;
        }
        let Tok::Op(op) = self.peek.tok else { return Err(self.unexpected("a comparison operator")) };
        self.advance()?;
        let value = match op {
            Op::In => self.set()?,
            Op::Like | Op::Matches | Op::IsSubset | Op::IsSuperset => {
                Value::One(self.literal(|t| matches!(t, Tok::Str { .. }), "a string")?)
            }
            _ => Value::One(self.literal(
                |t| matches!(t, Tok::Str { .. } | Tok::Typed | Tok::Int | Tok::Float | Tok::Bool),
                "a literal",
            )?),
        };
        Ok(self.node(Node::Cmp(Cmp { path, not, op, value }), start))
    }

    fn path(&mut self) -> Result<Path, Rejected> {
        let object = self.expect(|t| t == Tok::Ident, "an object type")?;
        self.expect(|t| t == Tok::Colon, "':'")?;
        let lo = self.tree.comps.len();
        let first = self.expect(|t| matches!(t, Tok::Ident | Tok::Str { .. }), "a property name")?;
        self.push_prop(first);
        loop {
            match self.peek.tok {
                Tok::Dot => {
                    self.advance()?;
                    let prop =
                        self.expect(|t| matches!(t, Tok::Ident | Tok::Str { .. }), "a property name")?;
                    self.push_prop(prop);
                }
                Tok::LBrack => {
                    self.advance()?;
                    self.expect(|t| matches!(t, Tok::Int | Tok::Star), "an index or '*'")?;
                    self.expect(|t| t == Tok::RBrack, "']'")?;
                    self.tree.comps.push(Comp::Index);
                }
                _ => break,
            }
        }
        let comps = (lo, self.tree.comps.len());
        Ok(Path { span: (object.start, self.last_end), object: (object.start, object.end), comps })
    }

    fn push_prop(&mut self, token: Token) {
        let prop = match token.tok {
            Tok::Str { escaped } => Comp::Prop { start: token.start + 1, end: token.end - 1, escaped },
            _ => Comp::Prop { start: token.start, end: token.end, escaped: false },
        };
        self.tree.comps.push(prop);
    }

    fn literal(&mut self, ok: fn(Tok) -> bool, expected: &str) -> Result<Lit, Rejected> {
        let token = self.expect(ok, expected)?;
        Ok(match token.tok {
            Tok::Str { .. } => Lit { tok: token.tok, start: token.start + 1, end: token.end - 1 },
            _ => Lit { tok: token.tok, start: token.start, end: token.end },
        })
    }

    fn set(&mut self) -> Result<Value, Rejected> {
        self.expect(|t| t == Tok::LParen, "'('")?;
        let lo = self.tree.lits.len();
        if self.peek.tok != Tok::RParen {
            loop {
                let lit = self.literal(
                    |t| matches!(t, Tok::Str { .. } | Tok::Typed | Tok::Int | Tok::Float | Tok::Bool),
                    "a literal",
                )?;
                self.tree.lits.push(lit);
                if self.peek.tok != Tok::Comma {
                    break;
                }
                self.advance()?;
            }
        }
        self.expect(|t| t == Tok::RParen, "')'")?;
        Ok(Value::Set(lo, self.tree.lits.len()))
    }
}

/// Whether the text of a `t'...'`, `h'...'` or `b'...'` literal has the grammar's
/// shape: an RFC 3339 UTC time, pairs of hex digits, padded base64.
fn typed_literal_ok(prefix: u8, text: &[u8]) -> bool {
    match prefix {
        b't' => {
            let (main, fraction) = text.split_at(text.len().min(19));
            let n =
                |i: usize| main[i..i + 2].iter().fold(0, |n, &d| n * 10 + u32::from(d.wrapping_sub(b'0')));
            let shape = main.len() == 19
                && main.iter().zip(b"dddd-dd-ddTdd:dd:dd").all(|(&c, &p)| {
                    if p == b'd' {
                        c.is_ascii_digit()
                    } else {
                        c == p
                    }
                });
            let fraction = match fraction.strip_prefix(b".") {
                Some(digits) => digits
                    .strip_suffix(b"Z")
                    .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit)),
                None => fraction == b"Z",
            };
            shape
                && fraction
                && (1..=12).contains(&n(5))
                && (1..=31).contains(&n(8))
                && n(11) <= 23
                && n(14) <= 59
                && n(17) <= 60
        }
        b'h' => text.len().is_multiple_of(2) && text.iter().all(u8::is_ascii_hexdigit),
        _ => {
            let data = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
            !text.is_empty()
                && text.len().is_multiple_of(4)
                && data.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
        }
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

/// The kind a `..._ref.type = '...'` term gives the ref's value.
fn type_kind(stix_type: &str) -> Option<Kind> {
    match stix_type {
        "ipv4-addr" => Some(Kind::Ipv4),
        "ipv6-addr" => Some(Kind::Ipv6),
        "domain-name" => Some(Kind::Domain),
        "url" => Some(Kind::Url),
        "email-addr" => Some(Kind::Email),
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
            ("ipv4-addr", 1) if is(0, "value") => Some(Kind::Ipv4),
            ("ipv6-addr", 1) if is(0, "value") => Some(Kind::Ipv6),
            ("domain-name", 1) if is(0, "value") => Some(Kind::Domain),
            ("url", 1) if is(0, "value") => Some(Kind::Url),
            ("email-addr", 1) if is(0, "value") => Some(Kind::Email),
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

//! The grammar of STIX patterns: the lexer, the parse tree in arenas, and the
//! recursive-descent parser. The parent module decides what a tree compiles to.

use std::mem::discriminant;

use memchr::{memchr2, memmem};

use super::{cut, syntax, Rejected};

/// Parentheses nest at most this deep: the parser recurses per level, and a hostile
/// feed must not overflow the stack.
const MAX_DEPTH: usize = 64;
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
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
    pub(super) fn unsupported(self) -> &'static str {
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
pub(super) enum Tok {
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
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A literal; for strings, `start..end` is the text between the quotes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lit {
    pub(super) tok: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Comp {
    /// `.name` or `.'name'` (the text without quotes).
    Prop { start: usize, end: usize, escaped: bool },
    /// `[0]` or `[*]`.
    Index,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Path {
    pub(super) span: (usize, usize),
    pub(super) object: (usize, usize),
    /// A range of `Tree::comps`.
    pub(super) comps: (usize, usize),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Value {
    One(Lit),
    /// A range of `Tree::lits`.
    Set(usize, usize),
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Cmp {
    pub(super) path: Path,
    pub(super) not: bool,
    pub(super) op: Op,
    pub(super) value: Value,
}

/// A node of the tree; the `(usize, usize)` of the n-ary ones is a range of
/// `Tree::children`. Nested joins of one kind are flattened, so that `OR` chains do
/// not make the tree (and the compiler's recursion) deep.
#[derive(Clone, Copy, Debug)]
pub(super) enum Node {
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
pub(super) struct Tree {
    /// Each node with the span of the pattern it covers.
    pub(super) nodes: Vec<(Node, usize, usize)>,
    pub(super) children: Vec<usize>,
    /// Children of the joins being parsed.
    pub(super) stack: Vec<usize>,
    pub(super) comps: Vec<Comp>,
    pub(super) lits: Vec<Lit>,
}

pub(super) struct Parser<'p, 't> {
    pub(super) src: &'p str,
    pub(super) pos: usize,
    /// Where the last token taken ended: the end of the node being built.
    pub(super) last_end: usize,
    pub(super) peek: Token,
    pub(super) tree: &'t mut Tree,
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

    pub(super) fn lex(&mut self) -> Result<Token, Rejected> {
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

    pub(super) fn pattern(&mut self) -> Result<usize, Rejected> {
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
pub(super) fn typed_literal_ok(prefix: u8, text: &[u8]) -> bool {
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

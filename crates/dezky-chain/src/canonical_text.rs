//! Recognising stored JSON that is already in canonical form, so that its bytes can be hashed
//! as they are instead of being parsed into a map and written out again.
//!
//! Verification commits every event's metadata through its canonical form, and the store
//! writes metadata as serde_json prints a map: members in byte order, strings escaped the way
//! canonical form escapes them. So the stored text almost always *is* the canonical form, and
//! parsing it into a map only to print the same bytes again was a third of verification's
//! time (allocating and freeing every member).
//!
//! The recogniser is conservative. It accepts only text that it can show is exactly what
//! `canonical::write_value` writes for the value the text denotes: no white space; members in
//! strictly increasing UTF-16 order of names that contain no escapes; strings escaped exactly
//! as canonical form escapes them; integers in serde_json's integer range, without leading
//! zeros or a minus on zero; nesting no deeper than `MAX_DEPTH`. Everything else (a fraction,
//! an exponent, an escaped name, `\/`) is refused, and the caller parses and canonicalises as
//! before, which is always correct. The property tests check both directions against the
//! canonicaliser.

use crate::escape_scan::first_needing_escape;

/// Objects and arrays nested deeper than this are left to the parser (serde_json refuses
/// nesting beyond 128, and the recogniser must never accept what the parser refuses).
const MAX_DEPTH: usize = 64;

/// JSON text of an object that is byte for byte its own canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalObjectText<'a>(&'a str);

impl<'a> CanonicalObjectText<'a> {
    /// `Some` only when `text` is a JSON object in canonical form (see the module comment).
    pub fn recognise(text: &'a str) -> Option<CanonicalObjectText<'a>> {
        let mut scanner = Scanner { text, at: 0 };
        scanner.object(1)?;
        (scanner.at == text.len()).then_some(CanonicalObjectText(text))
    }

    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, expected: u8) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, expected: u8) -> Option<()> {
        self.eat(expected).then_some(())
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(());
        }
        let mut previous: Option<&str> = None;
        loop {
            let name = self.name()?;
            if previous.is_some_and(|previous| !sorts_before(previous, name)) {
                return None;
            }
            previous = Some(name);
            self.expect(b':')?;
            self.value(depth)?;
            if !self.eat(b',') {
                return self.expect(b'}');
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.expect(b'[')?;
        if self.eat(b']') {
            return Some(());
        }
        loop {
            self.value(depth)?;
            if !self.eat(b',') {
                return self.expect(b']');
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        if self.text.as_bytes().get(self.at..end)? != word.as_bytes() {
            return None;
        }
        self.at = end;
        Some(())
    }

    /// A member name without escapes; its text between the quotes.
    fn name(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let (stop, byte) = self.skip_to_escape()?;
        (byte == b'"').then(|| &self.text[start..stop])
    }

    /// A string whose escapes are exactly the ones canonical form writes.
    fn string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.skip_to_escape()?.1 {
                b'"' => return Some(()),
                b'\\' => self.escape()?,
                _ => return None,
            }
        }
    }

    /// Moves past the next byte that JSON escapes in a string (`"`, `\`, or a control
    /// character) and returns where it was and what it is. The bytes before it are characters
    /// that canonical form writes literally, so they need no further check.
    fn skip_to_escape(&mut self) -> Option<(usize, u8)> {
        let rest = &self.text.as_bytes()[self.at..];
        let offset = first_needing_escape(rest)?;
        let stop = self.at + offset;
        self.at = stop + 1;
        Some((stop, rest[offset]))
    }

    /// After a backslash: `\"`, `\\`, the five short forms, or `\u00xx` (lower-case hex) for
    /// the other control characters; canonical form writes every other character literally.
    fn escape(&mut self) -> Option<()> {
        match self.next()? {
            b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => Some(()),
            b'u' => {
                let digits = self.text.as_bytes().get(self.at..self.at + 4)?;
                self.at += 4;
                let low = lower_hex_value(digits[2])? * 16 + lower_hex_value(digits[3])?;
                let has_short_form = matches!(low, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
                (digits[..2] == *b"00" && low < 0x20 && !has_short_form).then_some(())
            }
            _ => None,
        }
    }

    /// An integer serde_json reads as one (`u64`, or `i64` when negative), written as
    /// canonical form writes it.
    fn integer(&mut self) -> Option<()> {
        let negative = self.eat(b'-');
        let start = self.at;
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.text[start..self.at];
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) || digits.is_empty() {
            return None;
        }
        if digits.starts_with('0') && (digits.len() > 1 || negative) {
            return None;
        }
        let magnitude: u64 = digits.parse().ok()?;
        (!negative || magnitude <= i64::MIN.unsigned_abs()).then_some(())
    }
}

fn lower_hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// Canonical member order: by UTF-16 code units, which is byte order for ASCII names.
fn sorts_before(first: &str, second: &str) -> bool {
    if first.is_ascii() && second.is_ascii() {
        first < second
    } else {
        first.encode_utf16().lt(second.encode_utf16())
    }
}

#[cfg(test)]
mod tests;

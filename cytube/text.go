package cytube

import (
	"html"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/roseybot/rosey/cytube/medialink"
)

// PlainText turns CyTube's chat HTML into plain text: tags are removed and
// entities decoded. CyTube escapes & < > in what users type, so every
// literal '<' in msg starts a tag.
func PlainText(msg string) string {
	if !strings.ContainsAny(msg, "<&") {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg))
	inTag := false
	for i := 0; i < len(msg); i++ {
		switch ch := msg[i]; {
		case inTag:
			if ch == '>' {
				inTag = false
			}
		case ch == '<':
			inTag = true
		default:
			b.WriteByte(ch)
		}
	}
	return html.UnescapeString(b.String())
}

// noCommand is put in front of a line that would otherwise start with '/'
// and be run by CyTube as a command. A zero-width space survives CyTube's
// trimming and is invisible in chat.
const noCommand = "\u200b"

// SplitMessage cuts text into chat lines CyTube will accept whole: one per
// input line, each at most max UTF-16 code units (how CyTube measures),
// broken at the last space where possible. Blank lines are dropped, control
// characters become spaces, and a line starting with '/' is prefixed with a
// zero-width space so it is never run as a command. At most maxParts lines
// are returned; when text is longer the last ends with "…". The second
// result reports whether anything was cut.
func SplitMessage(text string, max, maxParts int) ([]string, bool) {
	return splitReply(text, max, maxParts, "")
}

// splitReply is SplitMessage that also guards every part after the first
// that would start with prefix (a bot command), as it guards '/'.
func splitReply(text string, max, maxParts int, prefix string) ([]string, bool) {
	if max < 2 {
		max = 2
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	var out []string
	cut := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, line)
		line = strings.TrimRight(line, " ")
		for strings.TrimSpace(line) != "" {
			if len(out) == maxParts {
				cut = true
				break
			}
			guard := strings.HasPrefix(line, "/") || len(out) > 0 && prefix != "" && strings.HasPrefix(line, prefix)
			piece, rest := cutLine(line, max, guard)
			out = append(out, piece)
			line = strings.TrimLeft(rest, " ")
		}
	}
	if cut && len(out) > 0 {
		last := out[len(out)-1]
		piece, _ := cutLine(last, max-1, false)
		out[len(out)-1] = strings.TrimRight(piece, " ") + "…"
	}
	return out, cut
}

// cutLine returns the longest head of line within max UTF-16 units,
// preferring a break at a space; with guard, the head gets the command guard
// in front (within max).
func cutLine(line string, max int, guard bool) (string, string) {
	if guard {
		max -= utf16Len(noCommand)
	}
	n, end := 0, len(line)
	for i, r := range line {
		n += utf16.RuneLen(r)
		if n > max {
			end = i
			break
		}
	}
	if end < len(line) {
		if sp := strings.LastIndexByte(line[:end], ' '); sp > 0 {
			end = sp
		}
	}
	if end == 0 { // max smaller than one rune: take one rune anyway
		_, end = utf8.DecodeRuneInString(line)
	}
	head := line[:end]
	if guard {
		head = noCommand + head
	}
	return head, line[end:]
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// MediaURL rebuilds a media URL from CyTube's type and id (CyTube sends no
// URL). It returns "" for types without a public URL and for ids that would
// not make a clean URL; see medialink.URL.
func MediaURL(typ, id string) string {
	return medialink.URL(typ, id)
}

// truncateUTF16 cuts s to at most max UTF-16 code units, as JavaScript's
// substring(0, max) does (never inside a rune).
func truncateUTF16(s string, max int) string {
	n := 0
	for i, r := range s {
		n += utf16.RuneLen(r)
		if n > max {
			return s[:i]
		}
	}
	return s
}

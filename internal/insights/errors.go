package insights

import (
	"errors"
	"fmt"
	"strings"
)

// ErrQuery is the sentinel wrapped by every query parse error.
var ErrQuery = errors.New("invalid Logs Insights query")

// ParseError tells where a query is wrong. Line and Column are 1-based and
// point at the offending token (columns count characters); Offset is the
// byte offset of that token.
type ParseError struct {
	Line   int
	Column int
	Offset int
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("query:%d:%d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap makes errors.Is(err, ErrQuery) hold.
func (e *ParseError) Unwrap() error { return ErrQuery }

// Excerpt renders the query line holding the error with a caret under the
// offending column, for terminals.
func (e *ParseError) Excerpt(query string) string {
	lines := strings.Split(query, "\n")
	if e.Line < 1 || e.Line > len(lines) {
		return ""
	}
	l := strings.TrimRight(lines[e.Line-1], "\r")
	pad := make([]byte, 0, e.Column)
	n := 0
	for _, r := range l {
		if n >= e.Column-1 {
			break
		}
		if r == '\t' {
			pad = append(pad, '\t')
		} else {
			pad = append(pad, ' ')
		}
		n++
	}
	return l + "\n" + string(pad) + "^"
}

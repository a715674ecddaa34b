package logstore

import (
	"errors"
	"testing"
)

// FuzzToken checks pagination tokens (sent back by clients): a bad token
// is ErrBadToken, a good one spells itself back.
func FuzzToken(f *testing.F) {
	for _, s := range []string{"f/1795600000000/0", "b/-1/3", "f/1/-1", "x/1/2", "f/1", "f/1/2/3", "f/99999999999999999999/0", "f/+1/02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dir, p, err := parseToken(s)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %v is not ErrBadToken", err)
			}
			return
		}
		dir2, p2, err := parseToken(p.token(dir))
		if err != nil || dir2 != dir || p2 != p || p.k < 0 {
			t.Fatalf("%q: token %q parses to %c %+v, %v", s, p.token(dir), dir2, p2, err)
		}
	})
}

package athena

import (
	"strings"
	"testing"
	"time"
)

func TestParsePresto(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, us int) time.Time {
		return time.Date(y, mo, d, h, mi, s, us*1000, time.UTC)
	}
	for _, tc := range []struct {
		s, f string
		want time.Time
	}{
		{"2021/05/03 00:00", "%Y/%m/%d %H:%i", utc(2021, 5, 3, 0, 0, 0, 0)},
		{"2021-05-03 14:07:09.5", "%Y-%m-%d %H:%i:%s.%f", utc(2021, 5, 3, 14, 7, 9, 500000)},
		{"3 May 2021 02:07:09 PM", "%e %b %Y %r", utc(2021, 5, 3, 14, 7, 9, 0)},
		{"Monday, May 3 2021 12:00:00 AM", "%W, %M %e %Y %r", utc(2021, 5, 3, 0, 0, 0, 0)},
		{"21.123 23:59:59", "%y.%j %T", utc(2021, 5, 3, 23, 59, 59, 0)},
		{"99-1-2", "%y-%c-%e", utc(1999, 1, 2, 0, 0, 0, 0)},
		{"10", "%H", utc(1970, 1, 1, 10, 0, 0, 0)},
		// Literal text that a Go layout would read as fields.
		{"day 1 of Jan: 2021-05-03 PM 15", "day 1 of Jan: %Y-%m-%d PM %H", utc(2021, 5, 3, 15, 0, 0, 0)},
		{"100% 2021", "100%% %Y", utc(2021, 1, 1, 0, 0, 0, 0)},
		{"20210503", "%Y%m%d", utc(2021, 5, 3, 0, 0, 0, 0)},
	} {
		got, err := ParsePresto(tc.s, tc.f)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParsePresto(%q, %q) = %v, %v; want %v", tc.s, tc.f, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ s, f, want string }{
		{"2021-05-03", "%Y/%m/%d", `want '/' at offset 4`},
		{"2021-05-03x", "%Y-%m-%d", `extra text "x" at offset 10`},
		{"2021-13-03", "%Y-%m-%d", "month 13 is out of range"},
		{"2021-02-30", "%Y-%m-%d", "February has no day 30"},
		{"2021-05-03 24", "%Y-%m-%d %H", "hour 24 is out of range"},
		{"13 PM", "%h %p", "hour 13 is not a 12-hour clock hour"},
		{"2021 366", "%Y %j", "day of year 366 is out of range for 2021"},
		{"2021", "%Q", "unsupported specifier %Q at offset 0"},
		{"Mai 2021", "%b %Y", "want the name of %b at offset 0"},
		{"x", "%d", "want the digits of %d at offset 0"},
	} {
		_, err := ParsePresto(tc.s, tc.f)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "date_parse: ") {
			t.Errorf("ParsePresto(%q, %q): error %v, want one containing %q", tc.s, tc.f, err, tc.want)
		}
	}
}

// FuzzParsePresto: no input panics; what parses is in UTC, and formatting
// it with the same pattern gives text that parses to the same instant.
func FuzzParsePresto(f *testing.F) {
	f.Add("2021/05/03 00:00", "%Y/%m/%d %H:%i")
	f.Add("3 May 2021 02:07:09 PM", "%e %b %Y %r")
	f.Add("21.123 23:59:59.000001", "%y.%j %T.%f")
	f.Add("Monday 1", "%W %c")
	f.Add("100% 2021", "100%% %Y")
	f.Fuzz(func(t *testing.T, s, pattern string) {
		got, err := ParsePresto(s, pattern)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParsePresto(%q, %q) = %v, not in UTC", s, pattern, got)
		}
		text := FormatPresto(got, pattern)
		again, err := ParsePresto(text, pattern)
		if err == nil && !again.Equal(got) {
			t.Fatalf("ParsePresto(%q, %q) = %v; formatted %q, which parses to %v", s, pattern, got, text, again)
		}
	})
}

// TestFormatJoda: format_datetime takes Joda-Time patterns, as in Athena
// (Presto and Trino pass them to Joda's DateTimeFormat), not strftime ones.
func TestFormatJoda(t *testing.T) {
	ts := time.Date(2021, 5, 3, 14, 7, 9, 45_678_900, time.UTC) // a Monday
	for _, tc := range []struct{ f, want string }{
		{"yyyy-MM-dd HH:mm:ss", "2021-05-03 14:07:09"},
		{"yyyy-MM-dd'T'HH:mm:ss.SSSZZ", "2021-05-03T14:07:09.045+00:00"},
		{"y/M/d H:m:s", "2021/5/3 14:7:9"},
		{"yy MMM MMMM EEE EEEE a", "21 May May Mon Monday PM"},
		{"hh KK kk e D w x G C", "02 02 14 1 123 18 2021 AD 20"},
		{"S SS SSSS Z ZZZ z zzzz", "0 04 0450 +0000 UTC UTC Coordinated Universal Time"},
		{"'o''clock' '' h", "o'clock ' 2"},
		{"%Y-%m-%d", "%2021-%7-%3"}, // not a MySQL pattern: m is the minute
	} {
		got, err := FormatJoda(ts, tc.f)
		if err != nil || got != tc.want {
			t.Errorf("FormatJoda(%q) = %q, %v; want %q", tc.f, got, err, tc.want)
		}
	}
	midnight := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	if got, _ := FormatJoda(midnight, "kk hh KK HH xxxx ww"); got != "24 12 00 00 2020 53" {
		t.Errorf("midnight: %q", got)
	}
	for _, f := range []string{"", "yyyy-MM-dd q", "%Y-%m-%d %H:%i"} {
		if _, err := FormatJoda(ts, f); err == nil {
			t.Errorf("FormatJoda(%q): no error", f)
		}
	}
}

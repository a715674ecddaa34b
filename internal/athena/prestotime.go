package athena

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FormatPresto formats t with a Presto/MySQL date_format pattern (%Y, %m,
// %d, %H, %i, %s, …), as Athena's date_format does. Unknown specifiers are
// copied through without the percent sign, as MySQL does.
func FormatPresto(t time.Time, f string) string {
	t = t.UTC()
	var b strings.Builder
	pad := func(v, w int) {
		s := strconv.Itoa(v)
		for i := len(s); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		switch f[i] {
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'b':
			b.WriteString(t.Month().String()[:3])
		case 'c':
			b.WriteString(strconv.Itoa(int(t.Month())))
		case 'D':
			d := t.Day()
			b.WriteString(strconv.Itoa(d))
			switch {
			case d%10 == 1 && d != 11:
				b.WriteString("st")
			case d%10 == 2 && d != 12:
				b.WriteString("nd")
			case d%10 == 3 && d != 13:
				b.WriteString("rd")
			default:
				b.WriteString("th")
			}
		case 'd':
			pad(t.Day(), 2)
		case 'e':
			b.WriteString(strconv.Itoa(t.Day()))
		case 'f':
			pad(t.Nanosecond()/1000, 6)
		case 'H':
			pad(t.Hour(), 2)
		case 'h', 'I':
			pad(hour12(t), 2)
		case 'i':
			pad(t.Minute(), 2)
		case 'j':
			pad(t.YearDay(), 3)
		case 'k':
			b.WriteString(strconv.Itoa(t.Hour()))
		case 'l':
			b.WriteString(strconv.Itoa(hour12(t)))
		case 'M':
			b.WriteString(t.Month().String())
		case 'm':
			pad(int(t.Month()), 2)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'r':
			pad(hour12(t), 2)
			b.WriteByte(':')
			pad(t.Minute(), 2)
			b.WriteByte(':')
			pad(t.Second(), 2)
			if t.Hour() < 12 {
				b.WriteString(" AM")
			} else {
				b.WriteString(" PM")
			}
		case 'S', 's':
			pad(t.Second(), 2)
		case 'T':
			pad(t.Hour(), 2)
			b.WriteByte(':')
			pad(t.Minute(), 2)
			b.WriteByte(':')
			pad(t.Second(), 2)
		case 'v':
			_, w := t.ISOWeek()
			pad(w, 2)
		case 'W':
			b.WriteString(t.Weekday().String())
		case 'Y':
			pad(t.Year(), 4)
		case 'y':
			pad(t.Year()%100, 2)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

// ParsePresto parses s with a Presto/MySQL date_parse pattern, in UTC.
// Text outside the specifiers must appear as it is (a Go time layout
// cannot say that: "1" or "Jan" in it would be read as fields). Fields the
// pattern leaves out take the values of 1970-01-01 00:00:00, as Presto's
// do; %a and %W are read but do not have to agree with the date.
func ParsePresto(s, f string) (time.Time, error) {
	var v prestoFields
	v.year, v.month, v.day = 1970, 1, 1
	pos, err := v.parse(s, 0, f)
	if err == nil && pos < len(s) {
		err = fmt.Errorf("extra text %q at offset %d", s[pos:], pos)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("date_parse: %q does not match %q: %w", s, f, err)
	}
	return v.time(s, f)
}

// prestoFields are the values a date_parse pattern has read.
type prestoFields struct {
	year, month, day, yday int
	hour, hour12, min, sec int
	micro                  int
	pm, has12, hasPM, hasJ bool
}

var (
	ampmNames    = []string{"am", "pm"}
	monthNames   = [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
	weekdayNames = [...]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

// parse reads s from pos with pattern f and returns the offset after it.
func (v *prestoFields) parse(s string, pos int, f string) (int, error) {
	num := func(spec byte, width int, dst *int) error {
		n, end := 0, pos
		for end < len(s) && end-pos < width && s[end] >= '0' && s[end] <= '9' {
			n = n*10 + int(s[end]-'0')
			end++
		}
		if end == pos {
			return fmt.Errorf("want the digits of %%%c at offset %d", spec, pos)
		}
		if spec == 'f' { // microseconds: "5" is 500000
			for d := end - pos; d < 6; d++ {
				n *= 10
			}
		}
		*dst, pos = n, end
		return nil
	}
	name := func(spec byte, names []string, abbrev bool, dst *int) error {
		for i, nm := range names {
			if abbrev {
				nm = nm[:3]
			}
			if len(s)-pos >= len(nm) && strings.EqualFold(s[pos:pos+len(nm)], nm) {
				*dst, pos = i, pos+len(nm)
				return nil
			}
		}
		return fmt.Errorf("want the name of %%%c at offset %d", spec, pos)
	}
	var weekday int
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			if pos >= len(s) || s[pos] != c {
				return pos, fmt.Errorf("want %q at offset %d", c, pos)
			}
			pos++
			continue
		}
		i++
		var err error
		switch spec := f[i]; spec {
		case 'Y':
			err = num(spec, 4, &v.year)
		case 'y':
			if err = num(spec, 2, &v.year); err == nil {
				// As MySQL: 70-99 are 1970-1999, 00-69 are 2000-2069.
				if v.year < 70 {
					v.year += 2000
				} else if v.year < 100 {
					v.year += 1900
				}
			}
		case 'm', 'c':
			err = num(spec, 2, &v.month)
		case 'b':
			if err = name(spec, monthNames[:], true, &v.month); err == nil {
				v.month++
			}
		case 'M':
			if err = name(spec, monthNames[:], false, &v.month); err == nil {
				v.month++
			}
		case 'd', 'e':
			err = num(spec, 2, &v.day)
		case 'j':
			err, v.hasJ = num(spec, 3, &v.yday), true
		case 'H', 'k':
			err = num(spec, 2, &v.hour)
		case 'h', 'I', 'l':
			err, v.has12 = num(spec, 2, &v.hour12), true
		case 'i':
			err = num(spec, 2, &v.min)
		case 'S', 's':
			err = num(spec, 2, &v.sec)
		case 'f':
			err = num(spec, 6, &v.micro)
		case 'p':
			var ampm int
			if err = name(spec, ampmNames, false, &ampm); err == nil {
				v.pm, v.hasPM = ampm == 1, true
			}
		case 'a':
			err = name(spec, weekdayNames[:], true, &weekday)
		case 'W':
			err = name(spec, weekdayNames[:], false, &weekday)
		case 'r':
			pos, err = v.parse(s, pos, "%h:%i:%S %p")
		case 'T':
			pos, err = v.parse(s, pos, "%H:%i:%S")
		case '%':
			if pos >= len(s) || s[pos] != '%' {
				err = fmt.Errorf("want '%%' at offset %d", pos)
			} else {
				pos++
			}
		default:
			return pos, fmt.Errorf("unsupported specifier %%%c at offset %d of the pattern", spec, i-1)
		}
		if err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// time checks the ranges of the fields read and builds the instant.
func (v *prestoFields) time(s, f string) (time.Time, error) {
	hour := v.hour
	if v.has12 || v.hasPM {
		h := v.hour12
		if !v.has12 {
			h = v.hour
		}
		if h < 1 || h > 12 {
			return time.Time{}, fmt.Errorf("date_parse: %q (pattern %q): hour %d is not a 12-hour clock hour (1-12)", s, f, h)
		}
		hour = h % 12
		if v.pm {
			hour += 12
		}
	}
	var bad string
	switch {
	case v.month < 1 || v.month > 12:
		bad = fmt.Sprintf("month %d", v.month)
	case v.day < 1 || v.day > 31:
		bad = fmt.Sprintf("day %d", v.day)
	case v.hasJ && (v.yday < 1 || v.yday > 366):
		bad = fmt.Sprintf("day of year %d", v.yday)
	case hour > 23:
		bad = fmt.Sprintf("hour %d", hour)
	case v.min > 59:
		bad = fmt.Sprintf("minute %d", v.min)
	case v.sec > 59:
		bad = fmt.Sprintf("second %d", v.sec)
	}
	if bad != "" {
		return time.Time{}, fmt.Errorf("date_parse: %q (pattern %q): %s is out of range", s, f, bad)
	}
	var t time.Time
	if v.hasJ {
		t = time.Date(v.year, 1, v.yday, hour, v.min, v.sec, v.micro*1000, time.UTC)
		if t.Year() != v.year {
			return time.Time{}, fmt.Errorf("date_parse: %q (pattern %q): day of year %d is out of range for %d", s, f, v.yday, v.year)
		}
		return t, nil
	}
	t = time.Date(v.year, time.Month(v.month), v.day, hour, v.min, v.sec, v.micro*1000, time.UTC)
	if t.Day() != v.day {
		return time.Time{}, fmt.Errorf("date_parse: %q (pattern %q): %s has no day %d", s, f, time.Month(v.month), v.day)
	}
	return t, nil
}

// FormatJoda formats t with a Joda-Time pattern ("yyyy-MM-dd HH:mm:ss"),
// as Athena's format_datetime does: Presto and Trino hand the pattern to
// Joda's DateTimeFormat.forPattern, not to a strftime or MySQL formatter.
// Times are UTC, names English, fractions of a second in milliseconds
// (Athena's precision). As in Joda, a run of one letter is one field,
// text in single quotes is literal (two quotes make one), and a
// letter Joda does not know is an error ("Illegal pattern component").
func FormatJoda(t time.Time, pattern string) (string, error) {
	if pattern == "" {
		return "", fmt.Errorf("format_datetime: Invalid pattern specification")
	}
	t = t.UTC()
	var b strings.Builder
	pad := func(v, w int) {
		if v < 0 {
			b.WriteByte('-')
			v = -v
		}
		s := strconv.Itoa(v)
		for i := len(s); i < w; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	isLetter := func(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
	// literal writes the text from i to the next letter outside quotes
	// and returns where that letter is.
	literal := func(i int) int {
		quoted := false
		for ; i < len(pattern); i++ {
			switch c := pattern[i]; {
			case c == '\'' && i+1 < len(pattern) && pattern[i+1] == '\'':
				b.WriteByte('\'')
				i++
			case c == '\'':
				quoted = !quoted
			case !quoted && isLetter(c):
				return i
			default:
				b.WriteByte(c)
			}
		}
		return i
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if !isLetter(c) {
			i = literal(i)
			continue
		}
		n := 1
		for i+n < len(pattern) && pattern[i+n] == c {
			n++
		}
		i += n
		switch c {
		case 'G':
			if t.Year() > 0 {
				b.WriteString("AD")
			} else {
				b.WriteString("BC")
			}
		case 'C':
			pad(t.Year()/100, n)
		case 'x', 'y', 'Y':
			year := t.Year()
			if c == 'x' {
				year, _ = t.ISOWeek()
			}
			if n == 2 {
				pad((year%100+100)%100, 2)
			} else {
				pad(year, n)
			}
		case 'M':
			switch {
			case n >= 4:
				b.WriteString(t.Month().String())
			case n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				pad(int(t.Month()), n)
			}
		case 'd':
			pad(t.Day(), n)
		case 'a':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'h':
			pad(hour12(t), n)
		case 'H':
			pad(t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			pad(h, n)
		case 'K':
			pad(t.Hour()%12, n)
		case 'm':
			pad(t.Minute(), n)
		case 's':
			pad(t.Second(), n)
		case 'S':
			// Joda prints the milliseconds scaled to n digits, truncated,
			// and at most 15 digits.
			digits := min(n, 15)
			v := int64(t.Nanosecond() / 1e6)
			for range digits {
				v *= 10
			}
			pad(int(v/1000), digits)
		case 'e':
			d := int(t.Weekday())
			if d == 0 {
				d = 7
			}
			pad(d, n)
		case 'E':
			if n >= 4 {
				b.WriteString(t.Weekday().String())
			} else {
				b.WriteString(t.Weekday().String()[:3])
			}
		case 'D':
			pad(t.YearDay(), n)
		case 'w':
			_, w := t.ISOWeek()
			pad(w, n)
		case 'z':
			if n >= 4 {
				b.WriteString("Coordinated Universal Time")
			} else {
				b.WriteString("UTC")
			}
		case 'Z':
			switch n {
			case 1:
				b.WriteString("+0000")
			case 2:
				b.WriteString("+00:00")
			default:
				b.WriteString("UTC")
			}
		default:
			return "", fmt.Errorf("format_datetime: Illegal pattern component: %s", strings.Repeat(string(c), n))
		}
	}
	return b.String(), nil
}

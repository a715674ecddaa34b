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
func ParsePresto(s, f string) (time.Time, error) {
	var layout strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 == len(f) {
			layout.WriteByte(c)
			continue
		}
		i++
		switch f[i] {
		case 'a':
			layout.WriteString("Mon")
		case 'b':
			layout.WriteString("Jan")
		case 'c':
			layout.WriteString("1")
		case 'd':
			layout.WriteString("02")
		case 'e':
			layout.WriteString("2")
		case 'f':
			layout.WriteString("000000")
		case 'H', 'k':
			layout.WriteString("15")
		case 'h', 'I':
			layout.WriteString("03")
		case 'l':
			layout.WriteString("3")
		case 'i':
			layout.WriteString("04")
		case 'j':
			layout.WriteString("002")
		case 'M':
			layout.WriteString("January")
		case 'm':
			layout.WriteString("01")
		case 'p':
			layout.WriteString("PM")
		case 'r':
			layout.WriteString("03:04:05 PM")
		case 'S', 's':
			layout.WriteString("05")
		case 'T':
			layout.WriteString("15:04:05")
		case 'W':
			layout.WriteString("Monday")
		case 'Y':
			layout.WriteString("2006")
		case 'y':
			layout.WriteString("06")
		case '%':
			layout.WriteByte('%')
		default:
			return time.Time{}, fmt.Errorf("date_parse: unsupported specifier %%%c at offset %d", f[i], i-1)
		}
	}
	t, err := time.Parse(layout.String(), s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date_parse: %q does not match %q", s, f)
	}
	return t.UTC(), nil
}

package alarm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// State is an alarm state.
type State string

// Alarm states.
const (
	StateOK               State = "OK"
	StateAlarm            State = "ALARM"
	StateInsufficientData State = "INSUFFICIENT_DATA"
)

// Datapoint is one evaluated period.
type Datapoint struct {
	Start   time.Time
	Value   float64
	Missing bool
}

// HistoryItem is one state change (DescribeAlarmHistory's StateUpdate).
type HistoryItem struct {
	AlarmName  string      `json:"alarmName"`
	Timestamp  time.Time   `json:"timestamp"`
	OldState   State       `json:"oldState"`
	NewState   State       `json:"newState"`
	Reason     string      `json:"reason"`
	Datapoints []Datapoint `json:"-"`
}

// Alarm is a metric alarm and its state.
type Alarm struct {
	Config  AlarmConfig
	key     MetricKey
	State   State
	Reason  string
	Updated time.Time
	History []HistoryItem
}

func newAlarm(c AlarmConfig) *Alarm {
	if c.DatapointsToAlarm == 0 {
		c.DatapointsToAlarm = c.EvaluationPeriods
	}
	if c.TreatMissingData == "" {
		c.TreatMissingData = "missing"
	}
	return &Alarm{Config: c, key: MetricKey{c.Namespace, c.MetricName, dimString(c.Dimensions)},
		State: StateInsufficientData, Reason: "Unchecked: Initial alarm creation"}
}

func (a *Alarm) breaches(v float64) bool {
	t := a.Config.Threshold
	switch a.Config.ComparisonOperator {
	case "GreaterThanOrEqualToThreshold":
		return v >= t
	case "GreaterThanThreshold":
		return v > t
	case "LessThanThreshold":
		return v < t
	case "LessThanOrEqualToThreshold":
		return v <= t
	}
	return false
}

var opWords = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to",
	"GreaterThanThreshold":          "greater than",
	"LessThanThreshold":             "less than",
	"LessThanOrEqualToThreshold":    "less than or equal to",
}

// evaluationRange is how many of the most recent periods CloudWatch
// retrieves to evaluate an alarm of n evaluation periods. AWS only says it
// is "a higher number of data points than specified by Evaluation Periods"
// and gives one example, 5 for 3 (AlarmThatSendsEmail.md, "How alarm state
// is evaluated when data is missing"); n+2 is that example.
func evaluationRange(n int) int { return n + 2 }

// evaluate computes the state at now as CloudWatch does from the complete
// periods of the evaluation range. It returns the history item when the
// state changes.
//
// With at least EvaluationPeriods datapoints in the range, the most recent
// EvaluationPeriods of them are evaluated and TreatMissingData does not
// matter. With fewer, the missing ones are filled in as TreatMissingData
// says (as few as possible); "missing" and "ignore" go to OK when a real
// datapoint is not breaching, and when all real ones breach but too few,
// "ignore" keeps the state and "missing" goes to INSUFFICIENT_DATA, or to
// ALARM when the oldest of them is at least DatapointsToAlarm periods old.
func (a *Alarm) evaluate(now time.Time, m *Metrics) *HistoryItem {
	c := a.Config
	p := int64(c.Period) * 1000
	end := now.UnixMilli()
	end -= ((end % p) + p) % p
	n, r := c.EvaluationPeriods, evaluationRange(c.EvaluationPeriods)
	var present []Datapoint // oldest first
	oldest := 0             // age in periods of the oldest present datapoint (1 = the last period)
	for i := r; i >= 1; i-- {
		s := end - int64(i)*p
		if v, ok := m.Statistic(a.key, s, s+p, c.Statistic); ok {
			present = append(present, Datapoint{Start: time.UnixMilli(s).UTC(), Value: v})
			oldest = max(oldest, i)
		}
	}
	var dps []Datapoint // the n datapoints evaluated, oldest first
	if len(present) >= n {
		dps = present[len(present)-n:]
	} else {
		// The periods without data, most recent first, fill in.
		dps = append(dps, present...)
		for i := 1; i <= r && len(dps) < n; i++ {
			s := end - int64(i)*p
			if !slices.ContainsFunc(present, func(d Datapoint) bool { return d.Start.UnixMilli() == s }) {
				dps = append(dps, Datapoint{Start: time.UnixMilli(s).UTC(), Missing: true})
			}
		}
		slices.SortFunc(dps, func(x, y Datapoint) int { return x.Start.Compare(y.Start) })
	}
	breaching, notBreaching, missing := 0, 0, 0
	for _, d := range dps {
		switch {
		case d.Missing:
			missing++
			if c.TreatMissingData == "breaching" {
				breaching++
			}
		case a.breaches(d.Value):
			breaching++
		default:
			notBreaching++
		}
	}
	var next State
	var reason string
	switch {
	case breaching >= c.DatapointsToAlarm:
		next = StateAlarm
	case missing == 0 || c.TreatMissingData == "breaching" || c.TreatMissingData == "notBreaching" || notBreaching > 0:
		next = StateOK
	case c.TreatMissingData == "ignore":
		return nil // keep the current state
	case len(present) > 0 && oldest >= c.DatapointsToAlarm:
		next = StateAlarm
	default:
		next = StateInsufficientData
		reason = fmt.Sprintf("Insufficient Data: %d datapoint%s %s unknown.", missing, plural(missing), wasWere(missing))
	}
	if next == a.State {
		return nil
	}
	switch {
	case next != StateInsufficientData && len(present) == 0:
		treated := "NonBreaching"
		if c.TreatMissingData == "breaching" {
			treated = "Breaching"
		}
		reason = fmt.Sprintf("Threshold Crossed: no datapoints were received for %d period%s and %d missing datapoint%s %s treated as [%s].",
			len(dps), plural(len(dps)), missing, plural(missing), wasWere(missing), treated)
	case next != StateInsufficientData:
		reason = a.thresholdReason(next, dps, breaching)
	}
	h := &HistoryItem{AlarmName: c.AlarmName, Timestamp: now.UTC(), OldState: a.State, NewState: next,
		Reason: reason, Datapoints: dps}
	a.State, a.Reason, a.Updated = next, reason, now.UTC()
	a.History = append(a.History, *h)
	return h
}

// thresholdReason words the change as CloudWatch does.
func (a *Alarm) thresholdReason(next State, dps []Datapoint, breaching int) string {
	c := a.Config
	var vals []string
	n := 0
	for i := len(dps) - 1; i >= 0; i-- {
		d := dps[i]
		if d.Missing {
			continue
		}
		if next == StateAlarm && !a.breaches(d.Value) || next == StateOK && a.breaches(d.Value) {
			continue
		}
		vals = append(vals, fmt.Sprintf("%s (%s)", fmtNum(d.Value), d.Start.Format("02/01/06 15:04:05")))
		n++
	}
	verb := "was"
	if n != 1 {
		verb = "were"
	}
	not := ""
	if next == StateOK {
		not = "not "
	}
	return fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s %s%s the threshold (%s) (minimum %d datapoint%s for %s -> %s transition).",
		n, len(dps), strings.Join(vals, ", "), verb, not, opWords[c.ComparisonOperator], fmtNum(c.Threshold),
		c.DatapointsToAlarm, plural(c.DatapointsToAlarm), a.State, next)
}

func fmtNum(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}
